"""CBS OData responses in the shapes the pipeline reads: pure functions, no network, no disk.

OData v4 (``datasets.cbs.nl/odata/v1``) answers one row per cell, measures as codes (``M000352``),
dimension codes in ``<Dim>Codes`` and the table's properties in ``Properties``. The transform
reads the v3 shapes (``TableInfos``, ``DataProperties``, one row per dimension combination in
``TypedDataSet``, one list per dimension), so a stored v4 fetch is turned into those here
(:func:`v4_as_v3`). A cell CBS leaves empty keeps its reason (the v4 ``ValueAttribute``) in a
``<measure>@reason`` column (:data:`REASON_SUFFIX`), in the dashboard's words (:data:`V4_REASONS`).

:mod:`pipelines.cbs` (which talks to CBS) and :mod:`pipelines.transform` (which reads stored
fetches, also on the dashboard's side of the snapshot) both import this module; it imports
nothing that touches the network.
"""

from __future__ import annotations

# CBS v4 ValueAttribute -> why a cell has no value, in the dashboard's words (Dutch).
# "None" means the value is there. CBS's symbol legend: blank = cannot occur, x = secret,
# . = unknown or not reliable enough.
V4_REASONS = {
    "Impossible": "kan niet voorkomen (bijvoorbeeld: de gemeente bestond toen niet)",
    "Confidential": "geheim: CBS publiceert dit cijfer niet",
    "Missing": "onbekend of onvoldoende betrouwbaar",
    "Unknown": "onbekend of onvoldoende betrouwbaar",
}


def v4_reason(attribute: str | None) -> str | None:
    """The Dutch reason for a ValueAttribute, None when the cell has a value ("None")."""
    attr = (attribute or "None").strip()
    if attr == "None":
        return None
    return V4_REASONS.get(attr, f"ontbreekt bij CBS ({attr})")


def v4_table_info(props: dict) -> dict:
    return {**props, "Title": props.get("Title"), "Modified": props.get("Modified"),
            "OutputStatus": props.get("Status") or "", "Identifier": props.get("Identifier")}


def v4_codes(codes: list[dict]) -> list[dict]:
    """``<Dim>Codes`` -> ``{Key, Title, Description, Status, ...}`` (v4 keys carry no padding,
    stripped anyway so a stray space can never split a region in two)."""
    return [{**c, "Key": str(c.get("Identifier", "")).strip(), "Title": c.get("Title")}
            for c in codes]


def v4_data_properties(dimensions: list[dict], measures: list[dict]) -> list[dict]:
    out = [{"Key": d.get("Identifier"), "Type": d.get("Kind") or "Dimension",
            "Title": d.get("Title"), "MapYear": d.get("MapYear")} for d in dimensions]
    out += [{"Key": m.get("Identifier"), "Type": "Topic", "Title": (m.get("Title") or "").strip(),
             "Unit": m.get("Unit"), "Decimals": m.get("Decimals"), "Datatype": m.get("DataType")}
            for m in measures]
    return out


REASON_SUFFIX = "@reason"


def v4_wide(observations: list[dict], dimensions: list[str]) -> list[dict]:
    """One row per cell -> one row per dimension combination with a column per measure code,
    plus ``<measure>@reason`` where CBS gives a ValueAttribute instead of a value."""
    rows: dict[tuple, dict] = {}
    for obs in observations:
        key = tuple(str(obs.get(d, "")).strip() for d in dimensions)
        row = rows.get(key)
        if row is None:
            row = rows[key] = dict(zip(dimensions, key, strict=True))
        measure = str(obs.get("Measure", "")).strip()
        value = obs.get("Value")
        if value is None and obs.get("StringValue") is not None:  # text measures (codes, names)
            value = obs["StringValue"]
        row[measure] = value
        reason = v4_reason(obs.get("ValueAttribute"))
        if reason and value is None:
            row[measure + REASON_SUFFIX] = reason
    return list(rows.values())


def v4_as_v3(entities: dict[str, list]) -> dict[str, list]:
    """Raw v4 entities -> the entity names the transform reads (TableInfos, DataProperties,
    TypedDataSet, one list per dimension)."""
    props = (entities.get("Properties") or [{}])[0]
    dims = entities.get("Dimensions") or []
    dim_ids = [d["Identifier"] for d in dims if d.get("Identifier")]
    obs = entities.get("Observations") or []
    present = [d for d in dim_ids if any(d in o for o in obs[:1])] if obs else dim_ids
    out: dict[str, list] = {
        "TableInfos": [v4_table_info(props)],
        "DataProperties": v4_data_properties(dims, entities.get("MeasureCodes") or []),
        "TypedDataSet": v4_wide(obs, present),
    }
    for d in dim_ids:
        out[d] = v4_codes(entities.get(f"{d}Codes") or [])
    return out
