"""SyncService: ``POST /result``'s work without HTTP, on a real SQLite file and real data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from eostation.config import Settings
from eostation.data.registry import build_registry
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import (
    BillingPlanInvalid,
    ProcessGraphComplexity,
    ProcessGraphMissing,
    RequestTimeout,
)
from eostation.formats.registry import default_formats
from eostation.jobs.store import JobStore
from eostation.jobs.sync import SyncService
from eostation.jobs.synclogs import SyncLogs
from eostation.migrations import open_database
from eostation.udps import UdpStore
from tests.graphs import reduce_mean

BBOX = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}


@pytest.fixture
def service(settings: Settings) -> SyncService:
    db = open_database(settings.db_url)
    return SyncService(
        settings,
        processes=default_registry(),
        collections=build_registry(settings.data_dir),
        formats=default_formats(),
        limits=lambda: EngineLimits.from_settings(settings, accounts=1),
        store=JobStore(db),
        udps=UdpStore(db),
        logs=SyncLogs(),
    )


def body(nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"process": {"process_graph": nodes}, **extra}


def mean_gtiff() -> dict[str, Any]:
    load = {
        "id": "SENTINEL2_L2A",
        "spatial_extent": BBOX,
        "temporal_extent": ["2022-06-01", "2022-06-21"],
        "bands": ["B04"],
    }
    return {
        "load": {"process_id": "load_collection", "arguments": load},
        "reduce": reduce_mean({"from_node": "load"}),
        "save": {
            "process_id": "save_result",
            "arguments": {"data": {"from_node": "reduce"}, "format": "GTiff"},
            "result": True,
        },
    }


def chain(n: int) -> dict[str, Any]:
    nodes: dict[str, Any] = {"n0": {"process_id": "add", "arguments": {"x": 0, "y": 1}}}
    for i in range(1, n):
        nodes[f"n{i}"] = {
            "process_id": "add",
            "arguments": {"x": {"from_node": f"n{i - 1}"}, "y": 1},
        }
    nodes[f"n{n - 1}"]["result"] = True
    return nodes


def tmp_dirs(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "tmp").glob("sync-*"))


def never() -> bool:
    return False


def test_a_graph_gives_a_geotiff_its_costs_and_a_log(
    service: SyncService, settings: Settings
) -> None:
    result = service.process(body(mean_gtiff()), user_id="u1", request_id="r1", cancelled=never)
    assert result.media_type.startswith("image/tiff") and result.path.parent == result.directory
    with rasterio.open(result.path) as ds:
        assert (ds.count, ds.crs.to_epsg()) == (1, 32632)
        assert 0 < float(np.nanmean(ds.read(1))) < 10_000
    assert result.costs > 0
    logs = service.logs.get("r1", "u1")
    assert logs is not None and logs[-1]["message"].startswith(f"Result: {result.path.name} (")
    assert service.logs.get("r1", "someone-else") is None
    result.discard()
    assert not result.directory.exists() and tmp_dirs(settings) == []


def test_a_plain_value_is_written_as_json(service: SyncService) -> None:
    result = service.process(body(chain(3)), user_id="u1", request_id="r2", cancelled=never)
    assert result.media_type == "application/json"
    assert json.loads(result.path.read_text()) == 3
    result.discard()


def test_the_pixel_limit_refuses_and_logs_and_cleans_up(
    service: SyncService, settings: Settings
) -> None:
    settings.sync_max_pixels = 1000
    with pytest.raises(ProcessGraphComplexity, match="the limit for synchronous requests is 1,000"):
        service.process(body(mean_gtiff()), user_id="u1", request_id="r3", cancelled=never)
    logs = service.logs.get("r3", "u1")
    assert logs is not None and logs[-1]["level"] == "error"
    assert logs[-1]["code"] == "ProcessGraphComplexity"
    assert tmp_dirs(settings) == []


def test_the_deadline_is_a_request_timeout(service: SyncService, settings: Settings) -> None:
    settings.sync_timeout_seconds = 1e-9
    with pytest.raises(RequestTimeout):
        service.process(body(chain(200)), user_id="u1", request_id="r4", cancelled=never)
    assert tmp_dirs(settings) == []


def test_a_client_that_went_away_stops_the_run(service: SyncService, settings: Settings) -> None:
    """``cancelled`` turning True midway stops the run (engine or writers): no file is left."""
    asked: list[int] = []

    def gone() -> bool:
        asked.append(1)
        return len(asked) > 3  # lets the first nodes run, then the client is gone

    with pytest.raises(RequestTimeout):
        service.process(body(mean_gtiff()), user_id="u1", request_id="r5", cancelled=gone)
    assert len(asked) > 3 and tmp_dirs(settings) == []


def test_bad_bodies_are_refused_before_any_work(service: SyncService, settings: Settings) -> None:
    with pytest.raises(ProcessGraphMissing):
        service.process({"process": {}}, user_id="u1", request_id="r6", cancelled=never)
    with pytest.raises(BillingPlanInvalid):
        service.process(body(chain(2), plan="gold"), user_id="u1", request_id="r7", cancelled=never)
    assert service.logs.get("r6", "u1") is None and not (settings.data_dir / "tmp").exists()


def test_log_level_filters_inspect_messages(service: SyncService) -> None:
    nodes = {
        "i": {
            "process_id": "inspect",
            "arguments": {"data": [1, 2], "message": "looking", "level": "info"},
            "result": True,
        }
    }
    quiet = service.process(
        body(nodes, log_level="warning"), user_id="u1", request_id="r8", cancelled=never
    )
    loud = service.process(body(nodes), user_id="u1", request_id="r9", cancelled=never)
    assert [e["message"] for e in service.logs.get("r8", "u1") or []] == []
    assert "looking" in [e["message"] for e in service.logs.get("r9", "u1") or []]
    quiet.discard()
    loud.discard()
