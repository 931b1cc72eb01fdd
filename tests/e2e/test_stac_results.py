"""Job results appear as items in their owner's private collection and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openeo
import pytest
import rasterio
from pystac_client import Client

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("stac-users") / "data")
    server.data_dir.mkdir(parents=True)
    server.users("add", "alice", "--password", "wonderland")
    server.users("add", "bob", "--password", "builder")
    yield server.start()
    server.stop()


def _login(url: str, user: str, password: str) -> tuple[openeo.Connection, dict[str, str]]:
    con = openeo.connect(url).authenticate_basic(user, password)
    return con, {"Authorization": f"Bearer {con.auth.bearer}"}  # type: ignore[union-attr]


def test_results_are_items_of_their_owner_only(two_users: LiveServer, tmp_path: Path) -> None:
    url = two_users.url
    alice, alice_headers = _login(url, "alice", "wonderland")
    _, bob_headers = _login(url, "bob", "builder")
    cube = alice.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 4.30, "south": 50.80, "east": 4.305, "north": 50.803},
        temporal_extent=["2022-05-01", "2022-05-11"],
        bands=["B04"],
    ).reduce_dimension("t", reducer="max")
    job = cube.create_job(out_format="GTiff", title="red max")
    job.start_and_wait(max_poll_interval=0.5)
    [local] = job.get_results().download_files(tmp_path, include_stac_metadata=False)

    mine = Client.open(f"{url}/stac/v1", headers=alice_headers)
    assert "results-alice" in {c.id for c in mine.get_collections()}
    search = mine.search(collections=["results-alice"], bbox=[4.0, 50.0, 5.0, 51.0])
    [item] = list(search.items())
    assert search.matched() == 1
    assert item.properties["openeo:job_id"] == job.job_id
    [asset] = item.assets.values()
    data = httpx.get(asset.href, timeout=60).content  # a signed link: no token needed
    (tmp_path / "via-stac.tif").write_bytes(data)
    with rasterio.open(tmp_path / "via-stac.tif") as a, rasterio.open(local) as b:
        np.testing.assert_array_equal(a.read(), b.read())

    theirs = Client.open(f"{url}/stac/v1", headers=bob_headers)
    assert "results-alice" not in {c.id for c in theirs.get_collections()}
    assert theirs.search(collections=["results-bob"], bbox=[4.0, 50.0, 5.0, 51.0]).matched() == 0
    r = httpx.get(f"{url}/stac/v1/search", params={"collections": "results-alice"},
                  headers=bob_headers)  # fmt: skip
    assert r.status_code == 404 and r.json()["code"] == "CollectionNotFound"
    r = httpx.get(f"{url}/stac/v1/collections/results-alice/items/{item.id}", headers=bob_headers)
    assert r.status_code == 404
    anonymous = httpx.get(f"{url}/stac/v1/collections").json()["collections"]
    assert not [c for c in anonymous if c["id"].startswith("results-")]
