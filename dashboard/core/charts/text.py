"""Text alternatives for the dashboard's charts (pure, no streamlit): a short Dutch summary
sentence and a table of the plotted data, both read from the figure itself.

Every figure of ``dashboard.charts`` carries what they need in plotly's ``meta`` attributes:
``layout.meta`` = {"chart": "series" | "bars" | "map" | "scatter", "title", "unit", "decimals",
...} and, per trace, the role and the names behind the plotted points. So the text alternative
always describes exactly what is drawn, for any chart the helper ``components.plotly`` shows.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.core import format as fmt

KIND_LABEL = {"series": "lijngrafiek", "bars": "staafdiagram", "map": "kaart",
              "scatter": "spreidingsdiagram"}
ROLE_ORDER = {"gemeente": 0, "vergelijk": 1, "provincie": 2, "peers": 3, "nl": 4}
UNCHANGED = 0.005  # relative change below which a series counts as 'gelijk gebleven'


Fig = go.Figure | dict  # a Figure or its plain dict form (charts.frozen, shared by sessions)


def _get(obj, name: str):
    value = obj.get(name) if isinstance(obj, dict) else obj[name]
    if isinstance(value, dict) and "bdata" in value:  # plotly's typed array in a figure dict
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return arr.reshape(value["shape"]) if value.get("shape") else arr
    return value


def layout(fig: Fig) -> dict:
    """The layout's top-level attributes (as plain values for a dict figure)."""
    if isinstance(fig, dict):
        return fig.get("layout") or {}
    return {"height": fig.layout.height, "meta": fig.layout.meta}


def traces(fig: Fig) -> list:
    return list(fig.get("data") or []) if isinstance(fig, dict) else list(fig.data)


def layout_meta(fig: Fig) -> dict:
    meta = layout(fig).get("meta")
    return dict(meta) if isinstance(meta, dict) else {}


def kind(fig: Fig) -> str | None:
    return layout_meta(fig).get("chart")


def kind_label(fig: Fig) -> str:
    return KIND_LABEL.get(kind(fig) or "", "grafiek")


def _trace_meta(trace) -> dict:
    meta = _get(trace, "meta")
    return dict(meta) if isinstance(meta, dict) else {}


def _val(v, meta: dict, short: bool = False) -> str:
    return fmt.value(v, meta.get("unit"), int(meta.get("decimals") or 0), short=short)


def unit_note(fig: Fig) -> str:
    """'Eenheid: per 1.000 inwoners.' for a line chart's table, whose cells leave a long unit
    out (it would fill a phone-wide table); '' where the headers name it."""
    meta = layout_meta(fig)
    unit = meta.get("unit")
    if kind(fig) != "series" or not unit or unit in ("%", "euro", "aantal"):
        return ""
    return f"Eenheid: {fmt.unit_label(unit)}."


# --------------------------------------------------------------------------- tables

def data_table(fig: Fig) -> pd.DataFrame:
    """The plotted data as numbers (for the CSV download), one row per point/region/period."""
    return {"series": _series_table, "bars": _bars_table, "map": _map_table,
            "scatter": _scatter_table}.get(kind(fig) or "", _empty)(fig)


def _empty(fig: Fig) -> pd.DataFrame:
    return pd.DataFrame()


def _series_lines(fig: Fig) -> list[dict]:
    """Plotted lines in legend order (the chosen gemeente first), legend-only traces dropped."""
    lines = []
    for tr in traces(fig):
        m = _trace_meta(tr)
        if not m.get("periods"):
            continue
        lines.append({"role": m.get("role"), "label": m.get("label") or tr.name,
                      "periods": list(m["periods"]), "x": list(_get(tr, "x")),
                      "values": [None if fmt.is_missing(v) else float(v) for v in _get(tr, "y")],
                      "status": list(m.get("status") or [])})
    return sorted(lines, key=lambda ln: ROLE_ORDER.get(ln["role"], 1))


def _series_table(fig: Fig) -> pd.DataFrame:
    lines = _series_lines(fig)
    if not lines:
        return pd.DataFrame(columns=["periode"])
    labels = {}
    for ln in lines:
        for p, x in zip(ln["periods"], ln["x"], strict=True):
            labels[p] = x
    out = pd.DataFrame({"periode": [labels[p] for p in sorted(labels)]})
    for ln in lines:
        by_period = dict(zip(ln["periods"], ln["values"], strict=True))
        out[ln["label"]] = [by_period.get(p) for p in sorted(labels)]
    return out


def _bars_table(fig: Fig) -> pd.DataFrame:
    m = _trace_meta(traces(fig)[0]) if traces(fig) else {}
    df = pd.DataFrame({"regio": m.get("labels", []), "waarde": m.get("values", [])})
    return df.iloc[::-1].reset_index(drop=True)  # plotted bottom-up: the table top-down


def _map_table(fig: Fig) -> pd.DataFrame:
    rows = []
    for tr in traces(fig):
        m = _trace_meta(tr)
        if m.get("role") == "waarde":
            rows += [{"gemeente": n, "waarde": float(v)}
                     for n, v in zip(m["names"], _get(tr, "z"), strict=True)]
        elif m.get("role") == "missing":
            rows += [{"gemeente": n, "waarde": None} for n in m["names"]]
    df = pd.DataFrame(rows, columns=["gemeente", "waarde"])
    return (df.sort_values(["waarde", "gemeente"], ascending=[False, True], na_position="last")
            .reset_index(drop=True))


def _scatter_table(fig: Fig) -> pd.DataFrame:
    meta = layout_meta(fig)
    xt, yt = meta.get("x", {}).get("title", "x"), meta.get("y", {}).get("title", "y")
    rows = []
    for tr in traces(fig):
        m = _trace_meta(tr)
        role = {"gemeente": "gekozen", "peers": "vergelijkbaar"}.get(
            m.get("role"), "")
        group = m.get("group") if m.get("role") == "overig" else ""
        for n, x, y in zip(m.get("names", []), _get(tr, "x"), _get(tr, "y"), strict=True):
            rows.append({"gemeente": n, xt: float(x), yt: float(y),
                         "markering": role or (group if group != "Overige gemeenten" else "")})
    df = pd.DataFrame(rows, columns=["gemeente", xt, yt, "markering"])
    return df.sort_values("gemeente", key=lambda s: s.str.lower()).reset_index(drop=True)


def display_table(fig: Fig) -> pd.DataFrame:
    """``data_table`` as Dutch text ('4,2%', 'geen gegevens', '(voorlopig)'), for on screen."""
    meta = layout_meta(fig)
    df = data_table(fig)
    k = kind(fig)
    if df.empty:
        return df
    if k == "series":
        lines = {ln["label"]: ln for ln in _series_lines(fig)}
        periods = sorted({p for ln in lines.values() for p in ln["periods"]})
        out = df.copy()
        for label, ln in lines.items():
            status = dict(zip(ln["periods"], ln["status"], strict=False))
            out[label] = [_val(v, meta, True) + ("" if status.get(p, "Definitief") == "Definitief"
                                           else f" ({fmt.status(status[p])})")
                          for v, p in zip(df[label], periods, strict=True)]
        return out
    if k == "scatter":
        out = df.copy()
        names = {}
        for axis in ("x", "y"):
            am = meta.get(axis, {})
            col = am.get("title", axis)
            out[col] = [_val(v, am, True) for v in df[col]]
            if am.get("unit") not in (None, "%", "euro", "aantal"):
                names[col] = f"{col} ({fmt.unit_label(am['unit'])})"
        return out.rename(columns=names)
    out = df.copy()
    out["waarde"] = [_val(v, meta, True) for v in df["waarde"]]
    return out.rename(columns={"waarde": f"waarde ({fmt.unit_label(meta.get('unit'))})"
                               if meta.get("unit") else "waarde"})


def long_table(shown: pd.DataFrame) -> pd.DataFrame:
    """A line chart's ``display_table`` (one column per line) as three columns, region by region:
    it fits a phone however many lines there are."""
    long = shown.melt(id_vars="periode", var_name="regio", value_name="waarde")
    return long[["regio", "periode", "waarde"]]


# --------------------------------------------------------------------------- summaries

def summary(fig: Fig) -> str:
    """One or two short Dutch sentences that say what the chart shows."""
    k = kind(fig)
    fn = {"series": _series_summary, "bars": _bars_summary, "map": _map_summary,
          "scatter": _scatter_summary}.get(k or "")
    text = fn(fig, layout_meta(fig)) if fn else ""
    return text or f"{layout_meta(fig).get('title') or 'Grafiek'}: geen gegevens."


def _known(ln: dict) -> list[tuple[str, float, str]]:
    return [(p, v, s) for p, v, s in zip(ln["periods"], ln["values"],
                                         ln["status"] or ["Definitief"] * len(ln["periods"]),
                                         strict=True) if v is not None]


def _movement(first: float, last: float) -> str:
    if abs(last - first) <= UNCHANGED * max(abs(first), 1e-9):
        return "gelijk gebleven"
    return "gestegen" if last > first else "gedaald"


def _series_summary(fig: Fig, meta: dict) -> str:
    lines = [ln for ln in _series_lines(fig) if _known(ln)]
    if not lines:
        return ""
    main = lines[0]
    known = _known(main)
    last_p, last_v, last_s = known[-1]
    when = fmt.period_status(last_p, last_s)
    text = f"{main['label']}: {_val(last_v, meta)} in {when}"
    others = []
    for ln in lines[1:]:
        at = {p: v for p, v, _ in _known(ln)}
        if last_p in at:
            others.append(f"{ln['label']} {_val(at[last_p], meta)}")
    if others:
        text += ", " + ", ".join(others)
    if len(known) > 1:
        first_p, first_v, _ = known[0]
        move = _movement(first_v, last_v)
        text += (f"; sinds {fmt.period(first_p)} {move}"
                 + (f" van {_val(first_v, meta)}" if move != "gelijk gebleven" else ""))
    if main["role"] != "gemeente":  # the chart shows only the regions it is compared with
        text = "Geen cijfers voor de gemeente zelf. " + text
    return text + "."


def _bars_summary(fig: Fig, meta: dict) -> str:
    df = _bars_table(fig)
    m = _trace_meta(traces(fig)[0]) if traces(fig) else {}
    have = df.dropna(subset=["waarde"])
    if have.empty:
        return ""
    top, low = have.loc[have["waarde"].idxmax()], have.loc[have["waarde"].idxmin()]
    parts = [f"{len(have)} regio's; hoogste: {top['regio']} ({_val(top['waarde'], meta)}), "
             f"laagste: {low['regio']} ({_val(low['waarde'], meta)})"]
    codes = dict(zip(m.get("codes", []), zip(m.get("labels", []), m.get("values", []),
                                             strict=True), strict=True))
    named = [codes[c] for c in m.get("highlight", []) if c in codes]
    if "NL01" in codes:
        named.append(codes["NL01"])
    if named:
        parts.append(", ".join(f"{lab}: {_val(v, meta)}" for lab, v in named))
    n_missing = len(df) - len(have)
    if n_missing:
        parts.append(f"{n_missing} zonder gegevens")
    return ". ".join(parts) + "."


def _map_summary(fig: Fig, meta: dict) -> str:
    df = _map_table(fig)
    have = df.dropna(subset=["waarde"])
    if have.empty:
        return ""
    hib = meta.get("higher_is_better")
    scale = ("donkerder = gunstiger" if hib is not None else "donkerder = hoger")
    parts = [f"Kaart van {len(have)} gemeenten ({scale})"]
    selected = next((_trace_meta(tr)["names"][0] for tr in traces(fig)
                     if _trace_meta(tr).get("role") == "selected"), None)
    if selected is not None:
        row = df[df["gemeente"] == selected]
        if not row.empty:
            parts.append(f"{selected}: {_val(row['waarde'].iloc[0], meta)}")
    top, low = have.iloc[0], have.iloc[-1]
    parts.append(f"Hoogste: {top['gemeente']} ({_val(top['waarde'], meta)}), laagste: "
                 f"{low['gemeente']} ({_val(low['waarde'], meta)})")
    n_missing = len(df) - len(have)
    if n_missing:
        parts.append(f"{n_missing} {'gemeente' if n_missing == 1 else 'gemeenten'} zonder "
                     "gegevens")
    return ". ".join(parts) + "."


def _scatter_summary(fig: Fig, meta: dict) -> str:
    df = _scatter_table(fig)
    if df.empty:
        return ""
    xm, ym = meta.get("x", {}), meta.get("y", {})
    xt, yt = xm.get("title", "x"), ym.get("title", "y")
    text = f"{len(df)} gemeenten: {xt} (horizontaal) tegen {yt} (verticaal)"
    chosen = df[df["markering"] == "gekozen"]
    if not chosen.empty:
        r = chosen.iloc[0]
        text += f". {r['gemeente']}: {_val(r[xt], xm)} en {_val(r[yt], ym)}"
    if len(df) >= 3:
        r = df[xt].corr(df[yt])
        if not fmt.is_missing(r):
            text += f"; samenhang r = {fmt.number(r, 2)}"
    return text + "."
