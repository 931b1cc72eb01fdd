"""STAC-backed collections are searched through to their upstream (here: another
eostation's STAC API, and a static catalogue on disk)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.config import Settings
from tests.conftest import shared_path

pytestmark = pytest.mark.e2e

BBOX = "4.30,50.80,4.315,50.81"
MAY = "2022-05-01T00:00:00Z/2022-05-31T23:59:59Z"


def test_upstream_api_and_static_catalogue(live_server: str, tmp_path: Path) -> None:
    mol = shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog", "collection.json")
    data = tmp_path / "data"
    data.mkdir()
    (data / "collections.toml").write_text(
        f"""
[[collections]]
id = "UP_S2"
type = "stac"
url = "{live_server}/stac/v1"
collection = "sentinel-2-l2a"
bands = [{{ name = "B04_10m" }}]

[[collections]]
id = "MOL_STATIC"
type = "stac"
url = "{mol}"
bands = [{{ name = "B04" }}]
"""
    )
    settings = Settings(
        allowed_hosts=["testserver"], data_dir=data, dask_workers=0, secret_key="test-secret"
    )
    # The upstream is on loopback: refused until the admin allows it (EOSTATION_OUTBOUND_ALLOW).
    with TestClient(create_app(settings)) as client:
        refused = client.get("/stac/v1/search", params={"bbox": BBOX, "collections": "UP_S2"})
        assert refused.status_code == 400, refused.text
        assert "internal address" in refused.json()["description"]
        assert "EOSTATION_OUTBOUND_ALLOW" in refused.json()["description"]
    settings = settings.model_copy(update={"outbound_allow": "127.0.0.0/8"})
    with TestClient(create_app(settings)) as client:
        params = {"bbox": BBOX, "datetime": MAY, "sortby": "-eo:cloud_cover"}
        direct = httpx.get(f"{live_server}/stac/v1/search",
                           params={**params, "collections": "sentinel-2-l2a"}).json()  # fmt: skip
        through = client.get("/stac/v1/search", params={**params, "collections": "UP_S2"})
        assert through.status_code == 200, through.text
        body = through.json()
        assert body["numberMatched"] == direct["numberMatched"] == 6
        assert [f["id"] for f in body["features"]] == [f["id"] for f in direct["features"]]
        assert {f["collection"] for f in body["features"]} == {"UP_S2"}
        low = client.get("/stac/v1/search", params={**params, "collections": "UP_S2",
                                                     "filter": "eo:cloud_cover < 30"}).json()  # fmt: skip
        expected = [f["id"] for f in direct["features"] if f["properties"]["eo:cloud_cover"] < 30]
        assert [f["id"] for f in low["features"]] == expected

        static = client.get("/stac/v1/collections/MOL_STATIC/items",
                            params={"datetime": "2023-06-03T00:00:00Z/.."}).json()  # fmt: skip
        days = sorted(f["properties"]["datetime"][:10] for f in static["features"])
        assert days == ["2023-06-04", "2023-06-06"]
        assert static["numberMatched"] == 2
