"""Dates that are not RFC 3339 are refused, in /validation and at run time.

``["01/06/2022", "11/06/2022"]`` (a day-first notebook date) used to be read month
first as 6 January – 2 November: 61 dates instead of 10, and no warning.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from eostation.engine.rfc3339 import timestamp

API = "/openeo/1.2"
AOI = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}


def labels(extent: list[Any], process: str = "load_collection") -> dict[str, Any]:
    """A graph returning the time labels of a small S2 cube loaded (or filtered) to ``extent``."""
    load_extent = extent if process == "load_collection" else ["2022-01-01", "2023-01-01"]
    nodes: dict[str, Any] = {
        "l": {
            "process_id": "load_collection",
            "arguments": {"id": "SENTINEL2_L2A", "spatial_extent": AOI,
                          "temporal_extent": load_extent, "bands": ["B04"]},
        },
        "d": {
            "process_id": "dimension_labels",
            "arguments": {"data": {"from_node": "l"}, "dimension": "t"},
            "result": True,
        },
    }  # fmt: skip
    if process == "filter_temporal":
        nodes["f"] = {
            "process_id": "filter_temporal",
            "arguments": {"data": {"from_node": "l"}, "extent": extent},
        }
        nodes["d"]["arguments"]["data"] = {"from_node": "f"}
    return {"process": {"process_graph": nodes}}


@pytest.mark.parametrize("process", ["load_collection", "filter_temporal"])
def test_day_first_dates_are_refused_in_validation_and_at_run_time(
    client: TestClient, process: str
) -> None:
    body = labels(["01/06/2022", "11/06/2022"], process)
    [problem] = client.post(API + "/validation", json=body["process"]).json()["errors"]
    assert problem["code"] == "ProcessParameterInvalid"
    assert "'01/06/2022' is not an RFC 3339 date 'YYYY-MM-DD'" in problem["message"]
    r = client.post(API + "/result", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "ProcessParameterInvalid"
    assert "RFC 3339" in r.json()["message"] and "01/06/2022" in r.json()["message"]


@pytest.mark.parametrize("bad", ["2022-6-1", "2022-06", "2022-06-01 00:00", "2022-02-30", "June 1"])
def test_other_loose_dates_are_refused(client: TestClient, bad: str) -> None:
    body = labels([bad, "2022-07-01"])
    [problem] = client.post(API + "/validation", json=body["process"]).json()["errors"]
    assert f"'{bad}' is not an RFC 3339 date" in problem["message"]


def test_date_times_without_offset_are_utc(client: TestClient) -> None:
    naive = client.post(
        API + "/result", json=labels(["2022-06-01T00:00:00", "2022-06-11T00:00:00"])
    )
    zulu = client.post(API + "/result", json=labels(["2022-06-01T00:00:00Z", "2022-06-11"]))
    assert naive.status_code == zulu.status_code == 200, naive.text
    assert naive.json() == zulu.json()
    dates = pd.to_datetime(naive.json())
    assert len(dates) > 0
    assert dates.min() >= pd.Timestamp("2022-06-01", tz="UTC")
    assert dates.max() < pd.Timestamp("2022-06-11", tz="UTC")


def test_offsets_are_converted_to_utc() -> None:
    assert timestamp("2022-06-01T02:00:00+02:00") == pd.Timestamp("2022-06-01T00:00:00")
    assert timestamp("2022-06-01t00:00:00.5z") == pd.Timestamp("2022-06-01T00:00:00.5")
    with pytest.raises(ValueError, match="RFC 3339"):
        timestamp("20220601")
