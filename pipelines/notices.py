"""Where the figures come from, in words for people: the demo notice every output carries.

A snapshot made from the local development mirror (or by the tests) holds real CBS figures, but
not all gemeenten and years; one fetched from a host that is not CBS may not be CBS's figures at
all. The dashboard shows a banner on every page, its downloads repeat the banner's words on every
row, and ``python -m pipelines export`` does the same, so that a file passed on (or a part copied
out of it) still says so. The words live here, in a small pure module both sides import: the
pipelines must not import dashboard code, and two copies of the sentence would drift apart.

Only the manifest's ``data_source`` and ``cbs_url`` are read (duck-typed: no snapshot import).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

DEMO_SOURCES = ("mirror", "test")
DEMO_COLUMN = "let op"  # the first column of a download from such a snapshot
_LOOPBACK = re.compile(r"^https?://(127\.|localhost|\[::1\])")


def data_source(manifest: Any) -> str | None:
    """'cbs', 'mirror', 'test', 'onbekend' (not a CBS address) or None (the snapshot does not
    say: older snapshots)."""
    src = getattr(manifest, "data_source", None)
    if src:
        return str(src)
    url = getattr(manifest, "cbs_url", None)
    if not url:
        return None
    return "onbekend" if _LOOPBACK.match(str(url)) or "cbs.nl" not in str(url) else "cbs"


def demo_banner(manifest: Any) -> str | None:
    """The banner every page shows when the figures are not CBS's own current feed (Markdown:
    the first words in bold), else None."""
    src = data_source(manifest)
    if src in DEMO_SOURCES:
        return ("**Demo-gegevens, onvolledig**: echte CBS-cijfers uit een ontwikkelkopie, niet "
                "alle gemeenten en jaren. Niet gebruiken voor besluiten of citaten.")
    if src == "onbekend":
        return ("**Let op: niet rechtstreeks van het CBS.** Deze snapshot is opgehaald bij "
                f"{getattr(manifest, 'cbs_url', None)}, niet bij het CBS zelf.")
    return None


def demo_notice(manifest: Any) -> str | None:
    """The banner's words for a file (plain text), else None."""
    banner = demo_banner(manifest)
    return banner.replace("**", "") if banner else None


def with_notice(df: pd.DataFrame, notice: str | None) -> pd.DataFrame:
    """A demo snapshot's download says so on every row (first column ``let op``), so that a
    copied part still carries it; a real snapshot's frame is returned as it is."""
    if not notice:
        return df
    return pd.concat([pd.DataFrame({DEMO_COLUMN: [notice] * len(df)}, index=df.index), df],
                     axis=1)
