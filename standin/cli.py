"""The command line of the stand-in, ``python -m standin`` (see :mod:`standin`): serve mirror folders
on a loopback address until interrupted, and print the settings a client needs to use it::

    python -m standin --mirror ../shared/cbs/mirror --v4 ../shared/cbs/odata_v4 --port 8765
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from .server import StandIn, is_loopback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description="Serve a CBS OData v3 mirror folder on a loopback address.",
    )
    parser.add_argument("--mirror", required=True, type=Path, help="mirror folder (<TABLE>/*.json)")
    parser.add_argument("--host", default="127.0.0.1", help="127.x.x.x, localhost or ::1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    parser.add_argument("--geo", type=Path, default=None,
                        help="folder of boundary files to serve at /geo/<file> (e.g. ../shared/cbs/geo)")
    parser.add_argument("--v4", type=Path, default=None,
                        help="folder of OData v4 tables to serve at /odata/v1/CBS/<id>/... "
                             "(e.g. ../shared/cbs/odata_v4)")
    parser.add_argument("--v4-page-size", type=int, default=None)
    parser.add_argument("--web", type=Path, default=None,
                        help="folder served as www.cbs.nl pages and files at /nl-nl/... and "
                             "/-/media/... (CBS_WEB_URL)")
    parser.add_argument("--lml-fixture", type=int, default=None, metavar="EDITION",
                        help="first write a TEST FIXTURE landing page and workbook of the "
                             "Landelijke Monitor Leegstand of that edition into --web, from the "
                             "documented layout with invented values (never CBS figures)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every answer, to simulate a distant server")
    parser.add_argument("--bandwidth", type=float, default=None,
                        help="bytes per second, to simulate a slow link")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(
            f"refusing to bind non-loopback host {args.host!r}: "
            "the stand-in only serves 127.x.x.x, localhost or ::1"
        )
    if not args.mirror.is_dir():
        parser.error(f"mirror folder {args.mirror} does not exist")
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    if args.lml_fixture is not None:
        if args.web is None:
            parser.error("--lml-fixture needs --web (the folder to write it into)")
        from .web import write_lml_fixture
        codes = [(f"GM{n:04d}", f"Testgemeente {n}") for n in range(1, 11)]
        page, _ = write_lml_fixture(args.web, args.lml_fixture, 49, codes)
        print(f"TEST FIXTURE (not CBS figures): landing page {page}", flush=True)
    server = StandIn(args.mirror, args.host, args.port, args.page_size, args.verbose,
                     latency=args.latency, bandwidth=args.bandwidth, geo_dir=args.geo,
                     v4_dir=args.v4, v4_page_size=args.v4_page_size, web_dir=args.web).start()
    print(f"CBS stand-in serving {args.mirror} at {server.url}", flush=True)
    if server.v4 is not None:
        print(f"OData v4: CBS_ODATA4_URL={server.v4.url}", flush=True)
    if server.web is not None:
        print(f"www.cbs.nl pages and files: CBS_WEB_URL={server.url}", flush=True)
    print(f"cbsodata: options.use_https = False; catalog_url = {server.catalog_url!r}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
