"""Geometries outside the longitude/latitude range get the same clear error as a bbox."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/openeo/1.2"
# The notebook's polygon near Turkmenistan (lon 54, lat 39), written lat/lon by mistake.
SWAPPED = {
    "type": "Polygon",
    "coordinates": [[[39.0, 110.0], [39.3, 110.0], [39.3, 110.3], [39.0, 110.3], [39.0, 110.0]]],
}


def graph(process: str, extent: Any, geometry: dict[str, Any]) -> dict[str, Any]:
    argument = {"aggregate_spatial": "geometries", "filter_spatial": "geometries",
                "mask_polygon": "mask"}[process]  # fmt: skip
    extra = {"reducer": "mean"} if process == "aggregate_spatial" else {}
    if extra:
        extra["reducer"] = {  # type: ignore[assignment]
            "process_graph": {
                "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}},
                      "result": True}
            }
        }  # fmt: skip
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "properties": {}, "geometry": geometry}]}  # fmt: skip
    return {
        "process": {
            "process_graph": {
                "l": {"process_id": "load_collection",
                      "arguments": {"id": "SENTINEL_5P_L2", "spatial_extent": extent,
                                    "temporal_extent": ["2022-06-01", "2022-06-03"],
                                    "bands": ["CH4"]}},
                "a": {"process_id": process,
                      "arguments": {"data": {"from_node": "l"}, argument: fc, **extra}},
                "s": {"process_id": "save_result",
                      "arguments": {"data": {"from_node": "a"}, "format": "JSON"}, "result": True},
            }
        }
    }  # fmt: skip


@pytest.mark.parametrize("process", ["aggregate_spatial", "filter_spatial", "mask_polygon"])
@pytest.mark.parametrize(
    "extent", [None, {"west": 38.0, "south": 50.0, "east": 40.0, "north": 52.0}]
)
def test_swapped_coordinates_are_refused(client: TestClient, process: str, extent: Any) -> None:
    r = client.post(API + "/result", json=graph(process, extent, SWAPPED))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "ProcessParameterInvalid"
    assert "outside the valid longitude/latitude range" in body["message"]
    assert "swapped" in body["message"] and "110.3" in body["message"]


def test_far_outside_gets_no_swap_hint(client: TestClient) -> None:
    far = {"type": "Point", "coordinates": [500.0, 10.0]}
    r = client.post(API + "/result", json=graph("aggregate_spatial", None, far))
    assert r.status_code == 400 and "outside the valid" in r.json()["message"]
    assert "swapped" not in r.json()["message"]


@pytest.mark.parametrize("process", ["aggregate_spatial", "filter_spatial", "mask_polygon"])
def test_validation_reports_swapped_coordinates(client: TestClient, process: str) -> None:
    r = client.post(API + "/validation", json=graph(process, None, SWAPPED))
    assert r.status_code == 200, r.text
    [error] = r.json()["errors"]
    assert error["code"] == "ProcessParameterInvalid"
    assert process in error["message"] and "swapped" in error["message"]
    assert "(39, 110, 39.3, 110.3)" in error["message"]


def test_validation_reports_a_point_far_outside(
    client: TestClient,
) -> None:
    far = {"type": "MultiPoint", "coordinates": [[10.0, 45.0], [500.0, 10.0]]}
    body = graph("aggregate_spatial", None, far)
    r = client.post(API + "/validation", json=body)
    [error] = r.json()["errors"]
    assert "(10, 10, 500, 45)" in error["message"] and "swapped" not in error["message"]


def test_validation_accepts_geometries_on_earth(client: TestClient) -> None:
    inside = {"type": "Polygon",
              "coordinates": [[[10.0, 45.0], [10.1, 45.0], [10.1, 45.1], [10.0, 45.0]]]}  # fmt: skip
    for process in ("aggregate_spatial", "filter_spatial", "mask_polygon"):
        r = client.post(API + "/validation", json=graph(process, None, inside))
        assert r.json() == {"errors": []}, (process, r.text)
