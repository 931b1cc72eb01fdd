"""Job results appear as items in their owner's private collection and nowhere else."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import openeo
import pytest
import rasterio
from pystac_client import Client

from tests.conftest import LiveServer
from tests.stac_check import assert_valid_stac

pytestmark = pytest.mark.e2e


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

    # A job writing one GeoTIFF per date gives one item per date.
    series = alice.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 4.30, "south": 50.80, "east": 4.305, "north": 50.803},
        temporal_extent=["2022-05-01", "2022-05-11"],
        bands=["B04"],
    ).create_job(out_format="GTiff", title="red series")
    series.start_and_wait(max_poll_interval=0.5)
    dated = [
        i
        for i in mine.search(collections=["results-alice"], bbox=[4.0, 50.0, 5.0, 51.0]).items()
        if i.properties["openeo:job_id"] == series.job_id
    ]
    assert sorted(i.properties["datetime"][:10] for i in dated) == ["2022-05-05", "2022-05-10"]
    for i in dated:  # as served (pystac would rewrite stac_version to its own)
        raw = httpx.get(f"{url}/stac/v1/collections/results-alice/items/{i.id}",
                        headers=alice_headers).json()  # fmt: skip
        assert_valid_stac(raw)
    one_day = mine.search(collections=["results-alice"], bbox=[4.0, 50.0, 5.0, 51.0],
                          datetime="2022-05-10T00:00:00Z")  # fmt: skip
    assert [i.id for i in one_day.items()] == [
        i.id for i in dated if "05-10" in i.properties["datetime"]
    ]

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
