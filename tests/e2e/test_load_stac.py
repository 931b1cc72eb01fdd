"""load_stac through the official client: a static catalogue served on 127.0.0.1, and a job's results."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio
import xarray as xr

from tests.conftest import LiveServer, shared_path

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loopback_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server allowed to fetch from loopback, where these tests serve their catalogue."""
    server = LiveServer(
        tmp_path_factory.mktemp("loopback") / "data",
        env={"EOSTATION_OUTBOUND_ALLOW": "127.0.0.0/8"},
    ).start()
    yield server.url
    server.stop()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def catalogue_url() -> Iterator[str]:
    folder = shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/collection.json"
    server.shutdown()
    server.server_close()


def test_load_stac_static_catalogue_over_http(
    loopback_server: str, catalogue_url: str, tmp_path: Path
) -> None:
    con = openeo.connect(loopback_server)
    cube = con.load_stac(catalogue_url, temporal_extent=["2023-06-02", "2023-06-07"], bands=["B03"])
    out = tmp_path / "b03.nc"
    cube.download(out, format="netCDF")
    folder = shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")
    with xr.open_dataset(out) as ds:
        assert [str(t)[:10] for t in ds.t.values] == ["2023-06-04", "2023-06-06"]
        for i, day in enumerate(["2023-06-04", "2023-06-06"]):
            with rasterio.open(folder / f"openEO_{day}Z.tif") as src:
                np.testing.assert_array_equal(ds["B03"].values[i], src.read(2).astype(np.float32))


def test_load_stac_of_an_internal_address_is_refused_by_default(
    live_server: str, catalogue_url: str, tmp_path: Path
) -> None:
    con = openeo.connect(live_server)
    cube = con.load_stac(catalogue_url, temporal_extent=["2023-06-02", "2023-06-07"], bands=["B03"])
    with pytest.raises(openeo.rest.OpenEoApiError) as info:
        cube.download(tmp_path / "never.nc", format="netCDF")
    assert info.value.http_status_code == 400
    assert info.value.code == "ProcessParameterInvalid"
    assert "EOSTATION_OUTBOUND_ALLOW" in info.value.message
    assert not (tmp_path / "never.nc").exists()


def test_load_stac_of_own_job_results(live_server: str, tmp_path: Path) -> None:
    con = openeo.connect(live_server)
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 5.0, "south": 51.2, "east": 5.005, "north": 51.205},
        temporal_extent=["2022-06-01", "2022-06-11"],
        bands=["B04", "B08"],
    )
    job = cube.create_job(out_format="netCDF")
    job.start_and_wait(max_poll_interval=0.2)
    url = f"{live_server}/openeo/1.2/jobs/{job.job_id}/results"
    out = tmp_path / "again.nc"
    con.load_stac(url, bands=["B08"]).download(out, format="netCDF")
    [original] = job.get_results().download_files(tmp_path / "orig", include_stac_metadata=False)
    with xr.open_dataset(original) as a, xr.open_dataset(out, decode_coords="all") as b:
        assert list(b.data_vars) == ["B08"]  # the crs grid mapping is decoded to a coordinate
        np.testing.assert_array_equal(b["B08"].values, a["B08"].values)
