"""EFAST through the official client as the fusion notebook runs it: the EFAST-shaped UDP
(every construct of the published graph, UDFs included) saved and called by id, and the
native ``efast`` process, both as batch jobs; one GeoTIFF per target date, equal values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio

from tests.efast_udp import efast_udp

pytestmark = pytest.mark.e2e

ARGS = {
    "spatial_extent": {"west": -15.9, "south": 15.67, "east": -15.893, "north": 15.677},
    "temporal_extent": ["2023-09-10", "2023-09-18"],
    "temporal_extent_target": ["2023-09-11", "2023-09-17"],
    "interval_days": 3,
    "temporal_score_stddev": 20,
    "s2_data_bands": ["B04", "B8A"],
    "s3_data_bands": ["SDR_Oa08", "SDR_Oa17"],
    "output_ndvi": True,
}
DATES = ["2023-09-11", "2023-09-14"]


def _run(cube: openeo.DataCube, folder: Path) -> dict[str, np.ndarray]:
    job = cube.create_job(out_format="GTiff", title=folder.name)
    job.start_and_wait(max_poll_interval=1)
    assert job.status() == "finished"
    assert isinstance(job.logs(), list)
    paths = job.get_results().download_files(folder, include_stac_metadata=False)
    out = {}
    for path in sorted(paths):
        with rasterio.open(path) as ds:
            assert ds.count == 1 and ds.crs.to_epsg() == 32628
            out[Path(path).name] = ds.read(1)
    return out


def test_efast_udp_and_native_give_one_equal_geotiff_per_target_date(
    live_server: str, tmp_path: Path
) -> None:
    con = openeo.connect(live_server)
    udp = efast_udp()
    con.save_user_defined_process(
        "efast_udp", udp["process_graph"], parameters=udp["parameters"], summary=udp["summary"]
    )
    from_udp = _run(con.datacube_from_process("efast_udp", **ARGS), tmp_path / "udp")
    native = _run(con.datacube_from_process("efast", **ARGS), tmp_path / "native")
    names = [f"openEO_{d}Z.tif" for d in DATES]
    assert sorted(from_udp) == names and sorted(native) == names
    for name in names:
        ndvi = native[name]
        assert np.isfinite(ndvi).mean() > 0.9 and -1 <= np.nanmin(ndvi) <= np.nanmax(ndvi) <= 1
        np.testing.assert_allclose(ndvi, from_udp[name], rtol=1e-5, atol=1e-6)
