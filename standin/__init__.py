"""CBS stand-in: a local OData v3 + v4 server over mirror folders, for tests and development.

Not part of the product (it is not installed with ``pipelines``/``dashboard``); run it from the
repository root::

    python -m standin --mirror ../shared/cbs/mirror --v4 ../shared/cbs/odata_v4 --port 8765

What lives where, each module using only those above it (tests/standin/test_layers.py checks this
and that there is no import cycle):

- ``grammar``: the OData query language both dialects share: ``$filter`` (:func:`parse_filter`,
  v3 and v4 dialects), ``$select``, ``$orderby``, ``$top``/``$skip``, the query string, and
  :class:`ODataError`;
- ``documents``: mirror files as parsed entity sets, cached and re-read when they change, and the
  JSON encoding of answers;
- ``faults``: :class:`Fault`, its kinds (:data:`FAULT_KINDS`) and the body-changing ones;
- ``v3``: the v3 feed (``/ODataFeed``, ``/ODataCatalog``): its routes, entity sets, paging with
  ``odata.nextLink``, error body (:func:`error_body`) and ``UntypedDataSet``
  (:func:`untyped_rows`);
- ``v4``: the v4 API (``/odata/v1/CBS``): its routes, entity sets, ``$count``, paging with
  ``@odata.nextLink`` and error body;
- ``server``: :class:`StandIn`, the HTTP server composing both dialects with faults,
  :class:`Stats`, boundary files at ``/geo/<file>`` and its lifecycle; :func:`is_loopback`;
- ``cli``: the command line (:func:`main`, ``python -m standin``).
"""

from .cli import main
from .faults import FAULT_KINDS, Fault
from .grammar import ODataError, parse_filter
from .server import StandIn, Stats, is_loopback
from .v3 import error_body, untyped_rows

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
