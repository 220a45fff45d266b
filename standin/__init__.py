"""CBS stand-in: a local OData v3 + v4 server over mirror folders, for tests and development.

Not part of the product (it is not installed with ``pipelines``/``dashboard``); run it from the
repository root::

    python -m standin --mirror ../shared/cbs/mirror --v4 ../shared/cbs/odata_v4 --port 8765

``standin.v3`` holds the server, the v3 feed and the CLI; ``standin.v4`` the OData v4 dialect.
"""

from .v3 import (
    FAULT_KINDS,
    Fault,
    ODataError,
    StandIn,
    Stats,
    error_body,
    is_loopback,
    main,
    parse_filter,
    untyped_rows,
)

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "ODataError",
    "StandIn",
    "Stats",
    "error_body",
    "is_loopback",
    "main",
    "parse_filter",
    "untyped_rows",
]
