"""A user's job results are OData products (zips of the result files) that only they
can find, look up and download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import numpy as np
import openeo
import pytest
import rasterio

from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e


def _token(url: str, user: str, password: str) -> str:
    form = {
        "grant_type": "password",
        "client_id": "cdse-public",
        "username": user,
        "password": password,
    }
    r = httpx.post(f"{url}/auth/realms/CDSE/protocol/openid-connect/token", data=form)
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def test_job_results_are_products_of_their_owner_only(
    two_users: LiveServer, tmp_path: Path
) -> None:
    url = two_users.url
    alice = openeo.connect(url).authenticate_basic("alice", "wonderland")
    cube = alice.load_collection(
        "SENTINEL2_L2A",
        spatial_extent={"west": 4.30, "south": 50.80, "east": 4.305, "north": 50.803},
        temporal_extent=["2022-05-01", "2022-05-11"],
        bands=["B04"],
    ).reduce_dimension("t", reducer="max")
    job = cube.create_job(out_format="GTiff", title="red max")
    job.start_and_wait(max_poll_interval=0.5)
    [local] = job.get_results().download_files(tmp_path, include_stac_metadata=False)

    catalogue = f"{url}/odata/v1"
    alice_h = {"Authorization": f"Bearer {_token(url, 'alice', 'wonderland')}"}
    bob_h = {"Authorization": f"Bearer {_token(url, 'bob', 'builder')}"}
    flt = {"$filter": "Collection/Name eq 'results-alice'"}
    [product] = httpx.get(f"{catalogue}/Products", params=flt, headers=alice_h).json()["value"]
    assert product["Name"].startswith(job.job_id)
    zipped = httpx.get(f"{catalogue}/Products({product['Id']})/$value", headers=alice_h)
    assert zipped.status_code == 200 and len(zipped.content) == product["ContentLength"]
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        [name] = zf.namelist()
        (tmp_path / "via-odata.tif").write_bytes(zf.read(name))
    with rasterio.open(tmp_path / "via-odata.tif") as a, rasterio.open(local) as b:
        np.testing.assert_array_equal(a.read(), b.read())

    assert httpx.get(f"{catalogue}/Products", params=flt, headers=bob_h).json()["value"] == []
    assert httpx.get(f"{catalogue}/Products", params=flt).json()["value"] == []
    for path in (f"Products({product['Id']})", f"Products({product['Id']})/$value"):
        assert httpx.get(f"{catalogue}/{path}", headers=bob_h).status_code == 404
    assert httpx.get(f"{catalogue}/Products({product['Id']})/$value").status_code == 401
