"""eodag's ``cop_dataspace`` provider, pointed at a live server through eodag's own
configuration (``update_providers_config``; no change to eodag): it logs in with the
password grant, checks the JWT against the JWKS with audience ``CLOUDFERRO_PUBLIC``,
searches, counts, pages (``search_all``) and downloads with ``?token=``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.conftest import LiveServer

if os.environ.get("CI") == "true":
    import eodag  # a dev dependency: missing in CI is a failure, not a skip
else:
    eodag = pytest.importorskip("eodag", reason="eodag is a test dependency: pip install -e .[dev]")

pytestmark = pytest.mark.e2e

ARCTIC = (-81.7, 71.7, -75.1, 73.8)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"EOSTATION_ODATA__PRODUCT_MAX_PIXELS": "24"}
    live = LiveServer(tmp_path_factory.mktemp("eodag") / "data", env=env).start()
    yield live
    live.stop()


@pytest.fixture
def dag(server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    # eodag's user config in a temporary dir, only this provider, and its bundled
    # collections list instead of the one it would fetch from the internet.
    resources = Path(eodag.__file__).parent / "resources"
    monkeypatch.setenv("EODAG_CFG_DIR", str(tmp_path / "eodag"))
    monkeypatch.setenv("EODAG_PROVIDERS_WHITELIST", '["cop_dataspace"]')
    monkeypatch.setenv("EODAG_EXT_COLLECTIONS_CFG_URI", str(resources / "ext_collections.json"))
    secret = (server.data_dir / "local.secret").read_text().strip()
    base = server.url
    gateway = eodag.EODataAccessGateway()
    gateway.update_providers_config(
        f"""
cop_dataspace:
  search:
    api_endpoint: '{base}/odata/v1/Products'
    metadata_mapping:
      eodag:download_link: '{base}/odata/v1/Products({{uid}})/$value'
  auth:
    matching_url: '{base}'
    oidc_config_url: '{base}/auth/realms/CDSE/.well-known/openid-configuration'
    credentials:
      username: local
      password: '{secret}'
"""
    )
    gateway.set_preferred_provider("cop_dataspace")
    return gateway


def test_eodag_searches_counts_pages_and_downloads(
    dag: object, server: LiveServer, tmp_path: Path
) -> None:
    query = {"collection": "S3_EFR", "start": "2018-06-01", "end": "2018-06-03", "geom": ARCTIC}
    first = dag.search(count=True, limit=2, **query)  # type: ignore[attr-defined]
    assert first.number_matched >= 3 and len(first) == 2
    every = dag.search_all(limit=2, **query)  # type: ignore[attr-defined]
    assert len(every) == first.number_matched
    ids = [p.properties["id"] for p in every]
    assert len(set(ids)) == len(ids) and all(i.startswith("S3") for i in ids)
    product = every[0]
    assert product.properties["product:type"] == "OL_1_EFR___"
    assert product.properties["platform"] == "S3A" or product.properties["platform"].endswith("A")

    path = Path(dag.download(product, output_dir=str(tmp_path / "downloads")))  # type: ignore[attr-defined]
    assert path.is_dir() and (path / "xfdumanifest.xml").is_file()
    radiance = xr.open_dataset(path / "Oa08_radiance.nc")["Oa08_radiance"]
    assert radiance.shape == (24, 24) and 5 < float(np.nanmean(radiance.values)) < 400
    # eodag sent the token in the query string, as it does against CDSE
    assert "/$value?token=" in server.log.read_text()
