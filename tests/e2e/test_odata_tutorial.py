"""CDSE's OData tutorial script, run against a live server with only the host changed:
a token from the password grant, the Arctic OLCI search with paging, a ``Name eq``
lookup, the ``$value`` download of a zip that xarray opens, and a refresh on 401."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import numpy as np
import pytest
import rasterio
import requests
import xarray as xr

from tests.conftest import LiveServer
from tests.odata_support import TUTORIAL_FILTER

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "EOSTATION_ODATA__PRODUCT_MAX_PIXELS": "24",
    }
    live = LiveServer(tmp_path_factory.mktemp("odata") / "data", env=env).start()
    yield live
    live.stop()


# -- the script, as the tutorial writes it (only the hosts differ) -------------------------


def get_access_token(base: str, username: str, password: str) -> dict[str, Any]:
    data = {
        "client_id": "cdse-public",
        "username": username,
        "password": password,
        "grant_type": "password",
    }
    r = requests.post(f"{base}/auth/realms/CDSE/protocol/openid-connect/token", data=data)
    r.raise_for_status()
    tokens: dict[str, Any] = r.json()
    return tokens


def refresh(base: str, refresh_token: str) -> dict[str, Any]:
    data = {
        "client_id": "cdse-public",
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }
    r = requests.post(f"{base}/auth/realms/CDSE/protocol/openid-connect/token", data=data)
    r.raise_for_status()
    tokens: dict[str, Any] = r.json()
    return tokens


def search_all(url: str) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    while url:
        page = requests.get(url).json()
        products += page["value"]
        url = page.get("@odata.nextLink", "")
    return products


# -----------------------------------------------------------------------------------------


def expire(server: LiveServer, token: str) -> str:
    """The same access token, re-signed with the server's issuer key as expired 2 minutes ago."""
    key = (server.data_dir / "issuer-key.pem").read_text()
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(iat=claims["iat"] - 3600, exp=int(time.time()) - 120)
    return jwt.encode(claims, key, algorithm="RS256", headers=jwt.get_unverified_header(token))


def test_tutorial_search_lookup_download_and_refresh(server: LiveServer, tmp_path: Path) -> None:
    base = server.url
    catalogue = f"{base}/odata/v1"
    secret = (server.data_dir / "local.secret").read_text().strip()
    tokens = get_access_token(base, "local", secret)

    first = requests.get(
        f"{catalogue}/Products?$filter={TUTORIAL_FILTER}&$top=2&$count=True"
    ).json()
    products = search_all(f"{catalogue}/Products?$filter={TUTORIAL_FILTER}&$top=2")
    assert len(products) == first["@odata.count"] >= 3  # paged through nextLink
    assert len({p["Id"] for p in products}) == len(products)
    for p in products:
        assert p["Name"].startswith("S3") and p["Name"].endswith(".SEN3")
        assert "2018-06-01T00:00:00.000Z" < p["ContentDate"]["Start"] < "2018-06-03"

    name = products[0]["Name"]
    [found] = requests.get(f"{catalogue}/Products?$filter=Name eq '{name}'").json()["value"]
    assert found["Id"] == products[0]["Id"]

    session = requests.Session()
    # CDSE's access tokens expire after 10 minutes: the script meets one that has.
    expired = expire(server, tokens["access_token"])
    session.headers.update({"Authorization": f"Bearer {expired}"})
    url = f"{catalogue}/Products({found['Id']})/$value"
    response = session.get(url, allow_redirects=False)
    assert response.status_code == 401
    tokens = refresh(base, tokens["refresh_token"])
    session.headers.update({"Authorization": f"Bearer {tokens['access_token']}"})
    target = tmp_path / f"{name}.zip"
    with session.get(url, stream=True) as response:
        response.raise_for_status()
        with target.open("wb") as out:
            for chunk in response.iter_content(chunk_size=8192):
                out.write(chunk)
    assert target.stat().st_size == found["ContentLength"]

    with zipfile.ZipFile(target) as zf:
        zf.extractall(tmp_path)
    sen3 = tmp_path / name
    radiance = xr.open_dataset(sen3 / "Oa08_radiance.nc")["Oa08_radiance"]
    geo = xr.open_dataset(sen3 / "geo_coordinates.nc")
    assert radiance.shape == geo["latitude"].shape == (24, 24)
    lat = geo["latitude"].values
    assert lat.min() > 71.7 - 5 and lat.max() < 73.8 + 5  # a frame that touches the Arctic box
    assert 5 < float(np.nanmean(radiance.values)) < 400

    # eodag's way: the token in the query string
    again = requests.get(url, params={"token": tokens["access_token"]})
    assert again.status_code == 200 and again.content == target.read_bytes()
    # the cached package now carries checksums
    entity = requests.get(f"{catalogue}/Products({found['Id']})").json()
    assert {c["Algorithm"] for c in entity["Checksum"]} == {"MD5", "BLAKE3"}


def test_s5p_product_opens_with_its_product_group(server: LiveServer, tmp_path: Path) -> None:
    catalogue = f"{server.url}/odata/v1"
    flt = (
        "Collection/Name eq 'SENTINEL-5P' and ContentDate/Start ge 2021-08-15T00:00:00Z and "
        "ContentDate/Start lt 2021-08-16T00:00:00Z and "
        "OData.CSC.Intersects(area=geography'SRID=4326;POINT(60.22 41.64)')"
    )
    [product] = requests.get(f"{catalogue}/Products", params={"$filter": flt}).json()["value"]
    zipped = requests.get(f"{catalogue}/Products({product['Id']})/$value")
    assert zipped.status_code == 200 and len(zipped.content) == product["ContentLength"]
    path = tmp_path / "p.zip"
    path.write_bytes(zipped.content)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path)
    ds = xr.open_dataset(tmp_path / product["Name"], group="PRODUCT")
    ch4 = ds["methane_mixing_ratio"].values
    o3 = ds["ozone_total_vertical_column"].values
    assert ch4.shape == o3.shape and ch4.shape[0] == 1
    assert np.isfinite(o3).mean() > 0.5  # ozone is retrieved through most clouds
    assert 0.09 < float(np.nanmean(o3)) < 0.2  # mol/m², ~200-450 DU
    assert ds["time"].values[0] == np.datetime64("2021-08-15")


def _download(catalogue: str, flt: str, into: Path) -> dict[str, Any]:
    """The one product the filter finds, downloaded and unzipped into ``into``."""
    [product] = requests.get(f"{catalogue}/Products", params={"$filter": flt}).json()["value"]
    zipped = requests.get(f"{catalogue}/Products({product['Id']})/$value")
    assert zipped.status_code == 200 and len(zipped.content) == product["ContentLength"]
    into.mkdir()
    path = into / "p.zip"
    path.write_bytes(zipped.content)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(into)
    return product


def test_slstr_and_dem_products_of_the_demo_catalogue(server: LiveServer, tmp_path: Path) -> None:
    catalogue = f"{server.url}/odata/v1"
    point = "OData.CSC.Intersects(area=geography'SRID=4326;POINT(7.5 46.5)')"
    slstr = (
        "Collection/Name eq 'SENTINEL-3' and Attributes/OData.CSC.StringAttribute/any("
        "att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'SL_1_RBT___') "
        "and ContentDate/Start ge 2022-05-01T00:00:00Z "
        f"and ContentDate/Start lt 2022-05-01T23:59:59Z and {point}"
    )
    product = _download(catalogue, slstr, tmp_path / "slstr")
    assert "_SL_1_RBT____" in product["Name"] and product["Name"].endswith(".SEN3")
    sen3 = tmp_path / "slstr" / product["Name"]
    bt = xr.open_dataset(sen3 / "S8_BT_in.nc")["S8_BT_in"]
    radiance = xr.open_dataset(sen3 / "S2_radiance_an.nc")["S2_radiance_an"]
    assert bt.shape == (12, 12) and radiance.shape == (24, 24)  # 1 km and 500 m grids
    assert 200 < float(np.nanmean(bt.values)) < 330
    assert 0 < float(np.nanmean(radiance.values)) < 600

    dem = _download(catalogue, f"Collection/Name eq 'COP-DEM' and {point}", tmp_path / "dem")
    # CDSE's DGED product name; the tile inside keeps the Copernicus_DSM_10_… name.
    assert dem["Name"] == "DEM1_SAR_DGE_30_20110524T013519_20130107T021758_ADS_000000_uqyy.DEM"
    tile = "Copernicus_DSM_10_N46_00_E007_00"
    with rasterio.open(tmp_path / "dem" / dem["Name"] / tile / "DEM" / f"{tile}_DEM.tif") as src:
        heights = src.read(1)
        assert src.shape == (24, 24) and src.crs.to_epsg() == 4326
    assert float(heights.min()) > 100  # the Alps around 46.5° N, 7.5° E
    # Found again as CDSE scripts look DEM tiles up: by Name, and by product type.
    by_name = requests.get(
        f"{catalogue}/Products", params={"$filter": f"Name eq '{dem['Name']}'"}
    ).json()["value"]
    assert [p["Id"] for p in by_name] == [dem["Id"]]
    dge_30 = (
        "Collection/Name eq 'COP-DEM' and Attributes/OData.CSC.StringAttribute/any("
        f"att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'DGE_30') and {point}"
    )
    found = requests.get(f"{catalogue}/Products", params={"$filter": dge_30}).json()["value"]
    assert [p["Name"] for p in found] == [dem["Name"]]


def test_slstr_lst_products_of_the_demo_catalogue(server: LiveServer, tmp_path: Path) -> None:
    catalogue = f"{server.url}/odata/v1"
    lst_filter = (
        "Collection/Name eq 'SENTINEL-3' and Attributes/OData.CSC.StringAttribute/any("
        "att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'SL_2_LST___') "
        "and ContentDate/Start ge 2022-05-01T00:00:00Z and ContentDate/Start lt 2022-05-01T23:59:59Z "
        "and OData.CSC.Intersects(area=geography'SRID=4326;POINT(7.5 46.5)')"
    )
    product = _download(catalogue, lst_filter, tmp_path / "lst")
    assert "_SL_2_LST____" in product["Name"] and product["Name"].endswith(".SEN3")
    sen3 = tmp_path / "lst" / product["Name"]
    lst = xr.open_dataset(sen3 / "LST_in.nc")["LST"]
    lat = xr.open_dataset(sen3 / "geodetic_in.nc")["latitude_in"]
    assert lst.shape == lat.shape == (24, 24) and lst.attrs["units"] == "K"
    assert 250 < float(np.nanmean(lst.values)) < 320  # the Alps on 1 May, 10:00 local time
    flags = xr.open_dataset(sen3 / "flags_in.nc")["confidence_in"].values
    assert np.all(flags & 1024)  # every demo overpass is in daylight
