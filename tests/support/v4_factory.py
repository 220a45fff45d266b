"""Write small CBS OData v4 tables in the layout of ``shared/cbs/odata_v4/<id>/`` for tests.

Shapes follow the real responses there (03759ned): Properties as one object, Dimensions with Kind,
MeasureCodes with Identifier/Unit/Decimals, ``codes-<Dim>.json`` with Identifier/Title/Status and
Observations one row per cell (Id, Measure, ValueAttribute, Value, StringValue, dimension codes).
Serve the folder with ``StandIn(..., v4_dir=folder)``.
"""

from __future__ import annotations

import json
from pathlib import Path

BASE = "https://datasets.cbs.nl/odata/v1/CBS"


def _write(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def write_v4_table(root: Path, table_id: str, *, title: str,
                   dimensions: dict[str, list[tuple[str, str]]],
                   measures: list[tuple[str, str, str, int]],
                   periods: list[tuple[str, str]], regions: list[tuple[str, str]],
                   cells: list[dict], modified: str = "2026-06-23T00:00:00+02:00",
                   status: str = "Regulier", pages: int = 1) -> Path:
    """``cells``: {<dims>..., RegioS, Perioden, Measure, Value, ValueAttribute (default "None")}.
    ``pages`` > 1 splits the Observations over several files (as captured page by page)."""
    folder = Path(root) / table_id
    folder.mkdir(parents=True, exist_ok=True)
    ctx = f"{BASE}/{table_id}/$metadata"
    _write(folder / "properties.json", {
        "@odata.context": f"{ctx}#Properties", "Identifier": table_id, "Title": title,
        "Description": "Testtabel.", "Language": "nl", "Modified": modified,
        "ReleaseDate": modified, "Status": status, "Frequency": "Per jaar",
        "DatasetType": "Numeric", "ObservationCount": len(cells), "Catalog": "CBS"})
    dims = [{"Identifier": d, "Title": d, "Description": "", "MapYear": None, "Kind": "Dimension",
             "ContainsGroups": False, "ContainsCodes": True,
             "CodesUrl": f"{BASE}/{table_id}/{d}Codes", "GroupsUrl": None} for d in dimensions]
    dims.append({"@odata.type": "#Cbs.Ccb.Models.GeoDimension", "Identifier": "RegioS",
                 "Title": "Regio's", "Kind": "GeoDimension", "MapYear": "",
                 "ContainsCodes": True, "CodesUrl": f"{BASE}/{table_id}/RegioSCodes"})
    dims.append({"@odata.type": "#Cbs.Ccb.Models.TimeDimension", "Identifier": "Perioden",
                 "Title": "Perioden", "Kind": "TimeDimension", "ContainsCodes": True,
                 "CodesUrl": f"{BASE}/{table_id}/PeriodenCodes"})
    _write(folder / "dimensions.json", {"@odata.context": f"{ctx}#Dimensions", "value": dims})
    _write(folder / "measure-codes.json", {"@odata.context": f"{ctx}#MeasureCodes", "value": [
        {"Identifier": code, "Index": i, "Title": t, "Description": "", "MeasureGroupId": None,
         "DataType": "Long" if dec == 0 else "Double", "Unit": unit, "Decimals": dec,
         "PresentationType": "Absolute"} for i, (code, t, unit, dec) in enumerate(measures)]})
    codes = {**dimensions, "RegioS": regions}
    for d, items in codes.items():
        _write(folder / f"codes-{d}.json", {"@odata.context": f"{ctx}#{d}Codes", "value": [
            {"Identifier": k, "Index": i, "Title": t, "Description": "", "DimensionGroupId": None}
            for i, (k, t) in enumerate(items)]})
    _write(folder / "codes-Perioden.json", {"@odata.context": f"{ctx}#PeriodenCodes", "value": [
        {"Identifier": k, "Index": i, "Title": k[:4], "Description": "", "DimensionGroupId": "0",
         "Status": st} for i, (k, st) in enumerate(periods)]})
    obs = []
    for i, c in enumerate(cells):
        row = {"Id": i, "Measure": c["Measure"], "ValueAttribute": c.get("ValueAttribute", "None"),
               "Value": c.get("Value"), "StringValue": None}
        row.update({d: c[d] for d in [*dimensions, "RegioS", "Perioden"]})
        obs.append(row)
    size = -(-len(obs) // pages) if obs else 1
    names = []
    for p in range(pages):
        name = f"observations-page-{p + 1}.json"
        _write(folder / name, {"@odata.context": f"{ctx}#Observations",
                               "value": obs[p * size:(p + 1) * size]})
        names.append(name)
    _write(folder / "index.json", {"tableId": table_id, "observationRows": len(obs),
                                   "observationPages": names})
    return folder
