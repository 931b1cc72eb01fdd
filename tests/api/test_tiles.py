"""Result tiles and collection quicklooks through the API, with a real runner and real files."""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer

from eostation.config import JobSettings, Settings
from tests.api.test_jobs import API, Harness
from tests.graphs import load_s2, reduce_mean, save

HALF = math.pi * 6378137.0
AOI = {"west": 11.0, "south": 46.0, "east": 11.02, "north": 46.02}


def mean_red(fmt: str = "GTiff") -> dict[str, Any]:
    load = load_s2(AOI, ["2022-06-01", "2022-06-11"])
    mean = reduce_mean({"from_node": "load"})
    return {"process_graph": {"load": load, "mean": mean, "save": save("mean", fmt)}}


def auth(client: Any, user: str, password: str) -> dict[str, str]:
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    r = client.get(API + "/credentials/basic", headers={"Authorization": "Basic " + basic})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer basic//" + r.json()["access_token"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """alice with a finished GTiff and a finished JSON job; bob with none."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("tiles") / "data",
        dask_workers=0,
        secret_key="test-secret",
        allowed_hosts=["testserver"],
        jobs=JobSettings(heartbeat_seconds=0.1, poll_seconds=0.05),
    )
    h = Harness(settings, with_runner=True)
    h.services.users.add("alice", "wonderland")
    h.services.users.add("bob", "builder")
    alice, bob = auth(h.client, "alice", "wonderland"), auth(h.client, "bob", "builder")
    jobs = {}
    for fmt in ("GTiff", "netCDF"):
        r = h.client.post(API + "/jobs", json={"process": mean_red(fmt)}, headers=alice)
        job_id = r.headers["OpenEO-Identifier"]
        h.client.post(f"{API}/jobs/{job_id}/results", headers=alice)
        deadline = time.monotonic() + 120
        while h.client.get(f"{API}/jobs/{job_id}", headers=alice).json()["status"] != "finished":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        jobs[fmt] = job_id
    yield {"h": h, "alice": alice, "bob": bob, "jobs": jobs}
    h.close()


def test_a_result_pixel_lands_on_the_expected_tile_pixel_in_its_colour(
    world: dict[str, Any],
) -> None:
    h, alice, job_id = world["h"], world["alice"], world["jobs"]["GTiff"]
    job = h.services.jobs.get("alice", job_id)
    [name] = job.results
    path = h.services.jobs.layout.file(job, name)
    with rasterio.open(path) as ds:
        values = ds.read(1)
        lo = float(ds.tags(1)["STATISTICS_MINIMUM"])
        hi = float(ds.tags(1)["STATISTICS_MAXIMUM"])
        to_mercator = Transformer.from_crs(ds.crs, 3857, always_xy=True)
        z, size = 17, 2 * HALF / 2**17  # 1.2 m Mercator pixels over 10 m source pixels
        checked = 0
        for row, col in [(5, 5), (40, 90), (100, 30), (150, 140)]:
            if row >= ds.height or col >= ds.width or not np.isfinite(values[row, col]):
                continue
            x, y = to_mercator.transform(*ds.xy(row, col))
            tx, ty = int((x + HALF) // size), int((HALF - y) // size)
            px, py = (
                int((x + HALF - tx * size) / size * 256),
                int((HALF - y - ty * size) / size * 256),
            )
            r = h.client.get(f"/tiles/{job_id}/{name}/{z}/{tx}/{ty}.png", headers=alice)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "image/png"
            pixel = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))[py, px]
            expected = (
                np.asarray(matplotlib.colormaps["viridis"]((values[row, col] - lo) / (hi - lo))[:3])
                * 255
            )
            assert pixel[3] == 255
            assert np.abs(pixel[:3] - expected).max() <= 2, (row, col, pixel, expected)
            checked += 1
    assert checked >= 3


def test_tiles_of_other_users_jobs_do_not_exist(world: dict[str, Any]) -> None:
    h, job_id = world["h"], world["jobs"]["GTiff"]
    job = h.services.jobs.get("alice", job_id)
    [name] = job.results
    url = f"/tiles/{job_id}/{name}/10/544/364.png"
    r = h.client.get(url, headers=world["bob"])
    assert r.status_code == 404 and r.json()["code"] == "JobNotFound"
    assert h.client.get(url, headers=world["alice"]).status_code == 200
    # A page cannot borrow the credential-free local user.
    r = h.client.get(url, headers={"Origin": "http://evil.example"})
    assert r.status_code == 401 and r.json()["code"] == "AuthenticationRequired"


def test_bad_tile_requests_get_openeo_errors(world: dict[str, Any]) -> None:
    h, alice = world["h"], world["alice"]
    tif, nc = world["jobs"]["GTiff"], world["jobs"]["netCDF"]
    [name] = h.services.jobs.get("alice", tif).results
    [nc_name] = h.services.jobs.get("alice", nc).results
    cases = {
        f"/tiles/{tif}/nope.tif/1/0/0.png": (404, "FileNotFound"),
        f"/tiles/{tif}/{name}/1/5/0.png": (400, "RequestInvalid"),
        f"/tiles/{tif}/{name}/1/0/0.png?colormap=jet2": (400, "RequestInvalid"),
        f"/tiles/{tif}/{name}/1/0/0.png?bands=2": (400, "RequestInvalid"),
        f"/tiles/{tif}/{name}/1/0/0.png?min=a": (400, "RequestInvalid"),
        f"/tiles/{nc}/{nc_name}/1/0/0.png": (400, "RequestInvalid"),
        "/tiles/nojob/x.tif/1/0/0.png": (404, "JobNotFound"),
    }
    for url, (status, code) in cases.items():
        r = h.client.get(url, headers=alice)
        assert (r.status_code, r.json()["code"]) == (status, code), (url, r.text)
        assert r.json()["message"]


def test_quicklook_is_rendered_by_the_engine_and_cached(world: dict[str, Any]) -> None:
    h, alice = world["h"], world["alice"]
    url = "/quicklooks/SENTINEL2_L2A.png?bbox=11.0,46.0,11.01,46.01&date=2022-06-01&bands=B04"
    r = h.client.get(url, headers=alice)
    assert r.status_code == 200, r.text
    image = Image.open(io.BytesIO(r.content))
    assert image.mode in ("L", "LA") and 50 < image.size[0] < 200  # ≈ 0.01° at 10 m
    grey = np.asarray(image.convert("L"))
    assert grey.std() > 5  # a picture, not a flat grey
    cache = list((h.services.settings.data_dir / "quicklooks").glob("*.png"))
    assert len(cache) == 1 and cache[0].read_bytes() == r.content
    cache[0].write_bytes(b"cached")  # the second answer comes from the cache
    assert h.client.get(url, headers=alice).content == b"cached"
    cache[0].unlink()


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("bbox=11,46,11.01&date=2022-06-01&bands=B04", "bbox"),
        ("bbox=11,46,12,47&date=2022-06-01&bands=B04", "at most"),
        ("bbox=11,46,11.01,46.01&date=June&bands=B04", "date"),
        ("bbox=11,46,11.01,46.01&date=2022-06-01&bands=B04,B03", "bands"),
    ],
)
def test_bad_quicklook_requests(world: dict[str, Any], query: str, word: str) -> None:
    r = world["h"].client.get(f"/quicklooks/SENTINEL2_L2A.png?{query}", headers=world["alice"])
    assert r.status_code == 400 and r.json()["code"] == "RequestInvalid"
    assert word in r.json()["message"]


def test_quicklook_of_an_unknown_collection(world: dict[str, Any]) -> None:
    r = world["h"].client.get(
        "/quicklooks/NOPE.png?bbox=11,46,11.01,46.01&date=2022-06-01&bands=B04",
        headers=world["alice"],
    )
    assert r.status_code == 404 and r.json()["code"] == "CollectionNotFound"


def test_archive_coverage_needs_a_login(world: dict[str, Any]) -> None:
    h = world["h"]
    assert h.client.get("/archive/coverage", headers=world["alice"]).json() == []
    r = h.client.get("/archive/coverage", headers={"Origin": "http://evil.example"})
    assert r.status_code == 401 and r.json()["code"] == "AuthenticationRequired"
