"""Record the API's answers to a fixed set of requests, to compare two versions of the code.

A refactoring must not change what clients see. This script starts the app in-process
(a fresh data dir with the demo world, plus a local-file and a static-STAC collection
from ``../shared/data`` when it is there), sends the requests below and writes one JSON
document: per request the status, the content type, the JSON body (request ids and
other per-run values masked) and the SHA-256 of the body's bytes (of every body with
nothing to mask, so key order and number formatting count too).

    .venv/bin/python scripts/api_snapshot.py > new.json
    git archive 612ed05 | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base/src .venv/bin/python scripts/api_snapshot.py > old.json
    diff old.json new.json   # or: python scripts/api_snapshot.py --compare old.json new.json

The app under test is whichever ``eostation`` the interpreter imports, so ``PYTHONPATH``
selects the version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2_l2a_openeo_small"
API = "/openeo/1.2"
AOI = {"west": 11.0, "south": 46.0, "east": 11.02, "north": 46.02}

# Values that legitimately differ between two runs of the same code.
_MASKED_KEYS = {"created", "updated", "request_id"}
_REQUEST_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f-]{36}\b")


def _graph(nodes: dict[str, Any]) -> dict[str, Any]:
    return {"process": {"process_graph": nodes}}


def _load(bands: list[str], dates: list[str]) -> dict[str, Any]:
    return {
        "process_id": "load_collection",
        "arguments": {
            "id": "SENTINEL2_L2A",
            "spatial_extent": AOI,
            "temporal_extent": dates,
            "bands": bands,
        },
    }


def _mean_over_t(fmt: str) -> dict[str, Any]:
    reducer = {
        "process_graph": {
            "m": {
                "process_id": "mean",
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }
    return _graph(
        {
            "load": _load(["B04", "B08"], ["2023-06-01", "2023-06-20"]),
            "mean": {
                "process_id": "reduce_dimension",
                "arguments": {"data": {"from_node": "load"}, "dimension": "t", "reducer": reducer},
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "mean"}, "format": fmt},
                "result": True,
            },
        }
    )


def _scalar_graph() -> dict[str, Any]:
    return _graph(
        {
            "a": {"process_id": "add", "arguments": {"x": 1.5, "y": 2}},
            "b": {
                "process_id": "multiply",
                "arguments": {"x": {"from_node": "a"}, "y": 3},
                "result": True,
            },
        }
    )


def _whole(collection_id: str, bands: list[str]) -> dict[str, Any]:
    """All of a (small) collection's pixels as JSON."""
    load = {
        "process_id": "load_collection",
        "arguments": {"id": collection_id, "spatial_extent": None, "temporal_extent": None},
    }
    load["arguments"]["bands"] = bands
    return _graph(
        {
            "load": load,
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "load"}, "format": "JSON"},
                "result": True,
            },
        }
    )


def requests(collection_ids: list[str]) -> list[tuple[str, str, Any]]:
    """The fixed requests: (method, path, JSON body or None)."""
    gets = [
        "/.well-known/openeo",
        API + "/",
        API + "/conformance",
        API + "/collections",
        API + "/processes",
        API + "/file_formats",
        API + "/udf_runtimes",
        API + "/service_types",
        API + "/me",
        API + "/collections/NOPE",
        API + "/jobs/nope",
    ]
    for cid in collection_ids:
        gets += [f"{API}/collections/{cid}", f"{API}/collections/{cid}/queryables"]
    posts: list[tuple[str, Any]] = [
        ("/validation", _scalar_graph()),
        ("/validation", _graph({"x": {"process_id": "nope", "arguments": {}, "result": True}})),
        ("/validation", _mean_over_t("GTiff")),
        ("/result", _scalar_graph()),
        ("/result", _mean_over_t("JSON")),
        ("/result", _mean_over_t("GTiff")),
        ("/result", _graph({"x": {"process_id": "nope", "arguments": {}, "result": True}})),
        ("/result", {"process": {"process_graph": {}}}),
        (
            "/result",
            _graph({"l": {**_load(["NOPE"], ["2023-06-01", "2023-06-02"]), "result": True}}),
        ),
    ]
    for cid in ("MOL_FILES", "MOL_STAC"):
        if cid in collection_ids:
            posts.append(("/result", _whole(cid, ["B04", "B02"])))
            posts.append(("/result", _whole(cid, ["red"])))
    return [("GET", p, None) for p in gets] + [("POST", API + p, b) for p, b in posts]


def _mask(value: Any) -> Any:
    if isinstance(value, dict) and {"code", "message", "id"} <= set(value):
        value = {**value, "id": "<request id>"}  # an error's id is the request id
    if isinstance(value, dict):
        return {k: "<masked>" if k in _MASKED_KEYS else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return _REQUEST_ID.sub("<id>", value)
    return value


def _collections_toml(data_dir: Path) -> None:
    if not SHARED.is_dir():
        return
    catalog = SHARED / "example_stac_catalog"
    (data_dir / "collections.toml").write_text(
        f"""
[[collections]]
id = "MOL_FILES"
title = "Mol"
paths = ["{catalog}/*.tif"]
date = {{ regex = 'openEO_(?P<date>\\d{{4}}-\\d{{2}}-\\d{{2}})Z', format = "%Y-%m-%d" }}
bands = [{{ name = "B04", common_name = "red" }}, {{ name = "B03" }}, {{ name = "B02" }}]

[[collections]]
id = "MOL_STAC"
type = "stac"
url = "{catalog / "collection.json"}"
bands = [{{ name = "B04", common_name = "red", wavelength = 0.665 }}, {{ name = "B02" }}]
"""
    )


def snapshot() -> dict[str, Any]:
    """Send every request to a fresh app; the answers keyed by ``METHOD path #n``."""
    from fastapi.testclient import TestClient

    from eostation.api.app import create_app
    from eostation.config import Settings

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        _collections_toml(data_dir)
        # TestClient addresses the app as http://testserver (the Host guard, api/guard.py).
        settings = Settings(
            data_dir=data_dir, dask_workers=0, secret_key="snapshot", allowed_hosts=["testserver"]
        )
        with TestClient(create_app(settings)) as client:
            ids = [c["id"] for c in client.get(API + "/collections").json()["collections"]]
            for n, (method, path, body) in enumerate(requests(ids)):
                response = client.request(method, path, json=body)
                kind = response.headers.get("content-type", "")
                entry: dict[str, Any] = {"status": response.status_code, "type": kind}
                if "json" in kind:
                    entry["body"] = _mask(response.json())
                    if entry["body"] == response.json():  # nothing masked: compare bytes too
                        entry["sha256"] = hashlib.sha256(response.content).hexdigest()
                else:
                    entry["sha256"] = hashlib.sha256(response.content).hexdigest()
                    entry["bytes"] = len(response.content)
                out[f"{method} {path} #{n}"] = entry
    return out


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Keys whose recorded answers differ (or exist on one side only)."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def main() -> int:
    """Write a snapshot to stdout, or compare two snapshot files (exit 1 on differences)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), type=Path)
    args = parser.parse_args()
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        different = compare(old, new)
        for key in different:
            print("differs:", key)
        print(f"{len(old.keys() | new.keys()) - len(different)} equal, {len(different)} differ")
        return 1 if different else 0
    json.dump(snapshot(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
