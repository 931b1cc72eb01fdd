"""``eostation serve``'s runners warm up before the server answers, then run the first job."""

from __future__ import annotations

from pathlib import Path

import openeo
import pytest
import rasterio

from tests.conftest import LiveServer

AOI = {"west": 5.0, "south": 51.2, "east": 5.01, "north": 51.21}


@pytest.mark.e2e
def test_runners_warm_up_then_run_the_first_job(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "data", env={"EOSTATION_JOBS__WARM_UP": "true", "EOSTATION_RUNNERS": "1"}
    ).start()
    try:
        # The server answers only once its runner is warm, so a job submitted at once does
        # not wait for the runner's start-up (before: it answered first, warmed up later).
        log = server.log.read_text()
        assert "warmed up in" in log and "runners:  warm after" in log, log
        con = openeo.connect(server.url)
        cube = con.load_collection(
            "SENTINEL2_L2A", spatial_extent=AOI,
            temporal_extent=["2022-06-01", "2022-07-01"], bands=["B04"],
        )  # fmt: skip
        job = cube.reduce_dimension("t", reducer="max").create_job(out_format="GTiff")
        job.start_and_wait(max_poll_interval=0.5)
        [path] = job.get_results().download_files(tmp_path / "out", include_stac_metadata=False)
        with rasterio.open(path) as ds:
            assert ds.count == 1 and float(ds.read(1).max()) > 0
    finally:
        server.stop()
