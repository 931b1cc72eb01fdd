"""Tiled fetch end to end: a live eostation, the official client, a killed run and a failing tile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest

from eostation.archive import Archive
from eostation.archive.fetch import TileFetcher, tiles_for
from eostation.data.base import LoadRequest
from eostation.data.demo import demo_sources
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AOI = (10.95, 44.95, 11.05, 45.05)  # 0.1° over the corner of four tiles at 11°E 45°N
TIME = ("2023-06-01", "2023-06-06")  # two Sentinel-2 dates: R022 on 06-02, R065 on 06-05
BANDS = ["B04", "B03", "B02"]
FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    s = LiveServer(tmp_path_factory.mktemp("archive") / "data", env=FAST).start()
    yield s
    s.stop()


def states(archive: Path) -> dict[str, Any]:
    [path] = archive.parent.glob(f"{archive.name}.fetch-*.json")
    return dict(json.loads(path.read_text())["tiles"])


def test_tiles_over_a_corner() -> None:
    keys = [t.key for t in tiles_for(AOI)]
    assert len(keys) == 4
    areas = [t.area for t in tiles_for(AOI)]
    assert sorted(areas) == sorted(
        [
            (10.95, 44.95, 11.0, 45.0),
            (11.0, 44.95, 11.05, 45.0),
            (10.95, 45.0, 11.0, 45.05),
            (11.0, 45.0, 11.05, 45.05),
        ]
    )


def test_fetch_survives_kill_and_retries_a_failing_tile(server: LiveServer, tmp_path: Path) -> None:
    target = tmp_path / "arch.zarr"
    cmd = [
        sys.executable,
        "-m",
        "eostation",
        "archive",
        "fetch",
        "--collection",
        "SENTINEL2_L2A",
        "--bbox",
        ",".join(map(str, AOI)),
        "--time",
        "/".join(TIME),
        "--bands",
        ",".join(BANDS),
        "--max-inflight",
        "2",
        "--poll",
        "0.1",
        "--url",
        server.url,
        "-a",
        str(target),
    ]
    env = {**os.environ, "EOSTATION_DASK_WORKERS": "0"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if target.parent.glob(f"{target.name}.fetch-*.json") and any(
                s["status"] == "done" for s in _safe_states(target).values()
            ):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no tile finished within 60 s")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    before = _safe_states(target)
    done_before = {k for k, s in before.items() if s["status"] == "done"}
    assert 1 <= len(done_before) < 4, before

    # resume in-process; the first attempt of one unfinished tile fails on the back-end
    victim = next(k for k, s in sorted(before.items()) if s["status"] == "pending")
    submitted: list[str] = []

    def build(con: Any, tile: Any, attempt: int) -> Any:
        submitted.append(tile.key)
        bad = tile.key == victim and attempt == 0
        w, s, e, n = tile.fetch_box(0.002)
        return con.load_collection(
            "SENTINEL2_L2A",
            spatial_extent={"west": w, "south": s, "east": e, "north": n},
            temporal_extent=["1990-01-01", "1990-01-05"] if bad else list(TIME),  # before S2
            bands=BANDS,
        )

    con = openeo.connect(server.url)
    fetcher = TileFetcher(
        Archive(target),
        con,
        "SENTINEL2_L2A",
        AOI,
        TIME,
        BANDS,
        max_inflight=2,
        poll_seconds=0.1,
        build=build,
    )
    report = fetcher.run()
    assert fetcher.format_options() == {"overviews": "NONE"}  # eostation offers it
    victim_job = con.job(states(target)[victim]["job_id"]).describe()["process"]
    saves = [n for n in victim_job["process_graph"].values() if n["process_id"] == "save_result"]
    assert len(saves) == 1 and saves[0]["arguments"]["options"] == {"overviews": "NONE"}
    assert report.done == 4 and report.failed == 0
    assert report.retries == 1 and 1 <= report.peak_inflight <= 2
    assert not done_before & set(submitted)  # finished tiles were not fetched again
    assert submitted.count(victim) == 2
    after = states(target)
    assert "1990" in " ".join(after[victim]["errors"]) or after[victim]["attempts"] == 1

    # the archive is complete and seamless: equal to ingesting the whole AOI in one go
    archive = Archive(target)
    assert archive.store.encoding("B04").dtype == "uint16"
    source = {s.id: s for s in demo_sources()}["SENTINEL2_L2A"]
    ref = Archive(tmp_path / "ref.zarr")
    cube = source.load(LoadRequest(bbox=AOI, temporal=TIME, bands=BANDS))
    ref.ingest(cube.compute(), clip=AOI)
    got = archive.query(AOI, TIME, 0.0005)
    want = ref.query(AOI, TIME, 0.0005)
    assert got.sizes["time"] == 2
    for band in BANDS:
        a, b = got[band].values, want[band].values
        assert not np.isnan(a[:, 2:-2, 2:-2]).any()  # every tile landed
        np.testing.assert_allclose(a, b, atol=0.5, equal_nan=True)  # uint16 DN rounding

    png = tmp_path / "q.png"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "eostation",
            "archive",
            "query",
            "-a",
            str(target),
            "--bbox",
            ",".join(map(str, AOI)),
            "--time",
            TIME[0] + "/" + TIME[1],
            "-o",
            str(png),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _safe_states(target: Path) -> dict[str, Any]:
    try:
        return states(target)
    except (ValueError, json.JSONDecodeError):
        return {}
