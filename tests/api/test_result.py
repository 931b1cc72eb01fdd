"""Synchronous processing: POST /result, its monitor log link and its limits."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient

from tests.graphs import reduce_mean

API = "/openeo/1.2"
BBOX = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}


def graph(nodes: dict) -> dict:  # type: ignore[type-arg]
    return {"process": {"process_graph": nodes}}


def test_a_graph_without_save_result_returns_its_json_value(client: TestClient) -> None:
    nodes = {
        "a": {"process_id": "add", "arguments": {"x": 1.5, "y": 2}},
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "a"}, "y": 2},
            "result": True,
        },
    }
    r = client.post(API + "/result", json=graph(nodes))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert json.loads(r.content) == 7.0
    assert float(r.headers["openeo-costs"]) > 0
    link = r.headers["link"]
    assert link.startswith("<http://testserver/openeo/1.2/result/logs/") and link.endswith(
        '>; rel="monitor"'
    )
    logs = client.get(link[1 : link.index(">")].removeprefix("http://testserver")).json()["logs"]
    assert any("Result" in e["message"] for e in logs)


def test_inspect_messages_reach_the_sync_log(client: TestClient) -> None:
    nodes = {
        "i": {
            "process_id": "inspect",
            "arguments": {"data": [1, 2, 3], "message": "looking", "level": "warning"},
        },
        "s": {"process_id": "sum", "arguments": {"data": {"from_node": "i"}}, "result": True},
    }
    r = client.post(API + "/result", json=graph(nodes))
    assert json.loads(r.content) == 6
    url = r.headers["link"][1 : r.headers["link"].index(">")].removeprefix("http://testserver")
    entries = client.get(url).json()["logs"]
    assert [e["message"] for e in entries if e["level"] == "warning"] == ["looking"]


def test_errors_name_the_node_and_are_logged(client: TestClient) -> None:
    nodes = {
        "x": {"process_id": "array_element", "arguments": {"data": [1], "index": 5}, "result": True}
    }
    r = client.post(API + "/result", json=graph(nodes))
    assert r.status_code == 400
    assert r.json()["code"] == "ProcessParameterInvalid" and "'x'" in r.json()["message"]
    r = client.post(API + "/result", json={"nothing": 1})
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphMissing")
    r = client.post(
        API + "/result", json=graph({"a": {"process_id": "nope", "arguments": {}, "result": True}})
    )
    assert (r.status_code, r.json()["code"]) == (400, "ProcessUnsupported")


def test_monitor_logs_are_private(client: TestClient) -> None:
    r = client.post(
        API + "/result", json=graph({"a": {"process_id": "pi", "arguments": {}, "result": True}})
    )
    rid = r.headers["request-id"]
    services = client.app.state.services  # type: ignore[attr-defined]
    assert services.sync_logs.get(rid, "someone-else") is None
    assert client.get(API + "/result/logs/unknown").status_code == 404


def test_user_defined_processes_run_synchronously(client: TestClient) -> None:
    udp = {
        "parameters": [
            {"name": "x", "schema": {"type": "number"}},
            {"name": "f", "schema": {"type": "number"}, "optional": True, "default": 10},
        ],
        "process_graph": {
            "m": {
                "process_id": "multiply",
                "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "f"}},
                "result": True,
            }
        },
    }
    assert client.put(API + "/process_graphs/times", json=udp).status_code == 200
    r = client.post(
        API + "/result",
        json=graph({"u": {"process_id": "times", "arguments": {"x": 4.2}, "result": True}}),
    )
    assert json.loads(r.content) == pytest.approx(42.0)


def test_mean_over_time_as_gtiff(client: TestClient, tmp_path: Path) -> None:
    nodes = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": BBOX,
                "temporal_extent": ["2022-06-01", "2022-06-21"],
                "bands": ["B04"],
            },
        },
        "reduce": reduce_mean({"from_node": "load"}),
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "reduce"}, "format": "GTiff"},
            "result": True,
        },
    }
    r = client.post(API + "/result", json=graph(nodes))
    assert r.status_code == 200, r.text
    assert r.headers[
        "content-type"
    ] == "image/tiff; application=geotiff; profile=cloud-optimized" or r.headers[
        "content-type"
    ].startswith("image/tiff")
    with rasterio.open(io.BytesIO(r.content)) as ds:
        values = ds.read(1)
        assert ds.count == 1 and ds.crs.to_epsg() == 32632
    assert 0 < float(np.nanmean(values)) < 10_000


def test_too_large_requests_suggest_a_batch_job(client: TestClient) -> None:
    client.app.state.services.settings.sync_max_pixels = 1000  # type: ignore[attr-defined]
    nodes = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": BBOX,
                "temporal_extent": ["2022-06-01", "2022-06-11"],
                "bands": ["B04"],
            },
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "load"}, "format": "netCDF"},
            "result": True,
        },
    }
    r = client.post(API + "/result", json=graph(nodes))
    assert (r.status_code, r.json()["code"]) == (400, "ProcessGraphComplexity")
    assert "batch job" in r.json()["message"]


def test_cdse_featureflags_on_load_collection_are_accepted_and_honoured(client: TestClient) -> None:
    def nodes(extra: dict) -> dict:  # type: ignore[type-arg]
        load_args = {
            "id": "SENTINEL3_SYN_L2_SYN",
            "spatial_extent": {"west": 5.0, "south": 51.0, "east": 5.1, "north": 51.1},
            "temporal_extent": ["2022-06-01", "2022-06-03"],
            "bands": ["Syn_Oa08_reflectance", "CLOUD_flags"],
            **extra,
        }
        return {
            "load": {"process_id": "load_collection", "arguments": load_args},
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "load"}, "format": "netCDF"},
                "result": True,
            },
        }

    flags = {
        "reprojection_type": "binning",
        "super_sampling": 2,
        "flag_band": "CLOUD_flags",
        "flag_bitmask": 255,
    }
    binned = client.post(API + "/result", json=graph(nodes({"featureflags": flags})))
    plain = client.post(API + "/result", json=graph(nodes({})))
    assert binned.status_code == 200 and plain.status_code == 200, binned.text
    import xarray as xr

    with (
        xr.open_dataset(io.BytesIO(binned.content)) as b,
        xr.open_dataset(io.BytesIO(plain.content)) as p,
    ):
        assert b["Syn_Oa08_reflectance"].shape == p["Syn_Oa08_reflectance"].shape
        assert not np.array_equal(
            b["Syn_Oa08_reflectance"].values, p["Syn_Oa08_reflectance"].values, equal_nan=True
        )
    rejected = client.post(API + "/result", json=graph(nodes({"no_such_option": 1})))
    assert (rejected.status_code, rejected.json()["code"]) == (400, "ProcessParameterUnsupported")
    listed = {p["id"]: p for p in client.get(API + "/processes").json()["processes"]}
    assert "featureflags" not in {p["name"] for p in listed["load_collection"]["parameters"]}


UDF = """
from openeo.udf import XarrayDataCube

def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
    return XarrayDataCube(cube.get_array() * 2)
"""


def _udf_graph() -> dict:  # type: ignore[type-arg]
    nodes = {
        "load": {
            "process_id": "load_collection",
            "arguments": {
                "id": "SENTINEL2_L2A",
                "spatial_extent": {"west": 11.0, "south": 46.0, "east": 11.002, "north": 46.002},
                "temporal_extent": ["2022-06-01", "2022-06-06"],
                "bands": ["B04"],
            },
        },
        "udf": {
            "process_id": "run_udf",
            "arguments": {"data": {"from_node": "load"}, "udf": UDF, "runtime": "Python"},
        },
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "udf"}, "format": "netCDF"},
            "result": True,
        },
    }
    return graph(nodes)


@pytest.mark.slow
def test_udfs_run_for_every_user_in_the_sandbox_and_are_off_when_set_off(
    client: TestClient,
) -> None:
    ok = client.post(API + "/result", json=_udf_graph())
    assert ok.status_code == 200, ok.text
    services = client.app.state.services  # type: ignore[attr-defined]
    services.users.add("alice", "pw")
    services.users.add("bob", "pw")
    token = client.get(
        API + "/credentials/basic", headers={"Authorization": "Basic YWxpY2U6cHc="}
    ).json()
    headers = {"Authorization": f"Bearer basic//{token['access_token']}"}
    # Several accounts: the sandbox separates them, so UDFs stay on (before: 403).
    several = client.post(API + "/result", json=_udf_graph(), headers=headers)
    assert several.status_code == 200, several.text
    services.settings.udf = "off"
    refused = client.post(API + "/result", json=_udf_graph(), headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "PermissionsInsufficient")
    assert "run_udf" in refused.json()["message"]


def test_a_window_without_acquisitions_is_no_data_available(client: TestClient) -> None:
    """load_collection's spec: NoDataAvailable when nothing matches (the suite found a 400
    ProcessParameterInvalid). 2022-06-01 has no Sentinel-2 pass over the AOI (06-02 has)."""

    def load(temporal: list[str]) -> dict:  # type: ignore[type-arg]
        arguments = {"id": "SENTINEL2_L2A", "spatial_extent": BBOX, "temporal_extent": temporal}
        return graph(
            {"load": {"process_id": "load_collection", "arguments": arguments, "result": True}}
        )

    r = client.post(API + "/result", json=load(["2022-06-01", "2022-06-02"]))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "NoDataAvailable" and "SENTINEL2_L2A" in body["message"]
    assert "2022-06-01" in body["message"] and "Traceback" not in r.text
    r = client.post(API + "/result", json=load(["2010-01-01", "2011-01-01"]))
    assert r.status_code == 400 and r.json()["code"] == "NoDataAvailable"
    assert "operating period" in r.json()["message"]


def _chain(nodes: int) -> dict:  # type: ignore[type-arg]
    out = {"n0": {"process_id": "add", "arguments": {"x": 0, "y": 1}}}
    for i in range(1, nodes):
        out[f"n{i}"] = {"process_id": "add", "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1}}
    out[f"n{nodes - 1}"]["result"] = True
    return out


def test_graphs_beyond_the_size_limit_are_a_400_everywhere(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.settings.limits.graph_max_nodes = 50
    ok = client.post(API + "/result", json=graph(_chain(50)))
    assert ok.status_code == 200 and json.loads(ok.content) == 50
    big = client.post(API + "/result", json=graph(_chain(51)))
    assert (big.status_code, big.json()["code"]) == (400, "ProcessGraphComplexity")
    assert "more than 50 nodes" in big.json()["message"]
    job = client.post(API + "/jobs", json=graph(_chain(51)))
    estimate = client.get(f"{API}/jobs/{job.headers['OpenEO-Identifier']}/estimate")
    assert (estimate.status_code, estimate.json()["code"]) == (400, "ProcessGraphComplexity")


def test_the_sync_timeout_during_evaluation_is_a_408_not_a_500(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.settings.sync_timeout_seconds = 1e-9
    r = client.post(API + "/result", json=graph(_chain(200)))
    assert (r.status_code, r.json()["code"]) == (408, "RequestTimeout")


def test_validation_reports_a_too_large_graph_once(client: TestClient) -> None:
    client.app.state.services.settings.limits.graph_max_nodes = 50  # type: ignore[attr-defined]
    r = client.post(API + "/validation", json=graph(_chain(51)))
    assert r.status_code == 200
    assert [e["code"] for e in r.json()["errors"]] == ["ProcessGraphComplexity"]
