"""The catalogue on PostgreSQL (pgstac) answers pystac-client as the SQLite one does: the
same items, in the same order, with the same ``numberMatched``, for the same searches."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_bounds

from tests.conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOML = """
[[collections]]
id = "TILES"
title = "Twelve small tiles"
paths = ["tiles/*.tif"]
date = { regex = 'tile_(?P<date>\\d{4}-\\d{2}-\\d{2})_', format = "%Y-%m-%d" }
bands = [{ name = "B1" }]
"""
N_FILES = 12


def _write_tiles(data: Path) -> None:
    """Twelve 8×8 GeoTIFFs, two per date, marching east 0.5° at a time (some overlap)."""
    (data / "tiles").mkdir(parents=True)
    for k in range(N_FILES):
        west, south = 4.0 + 0.5 * k, 50.0 + 0.25 * (k % 3)
        path = data / "tiles" / f"tile_2023-06-{1 + k // 2:02d}_{k:02d}.tif"
        with rasterio.open(
            path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8", crs="EPSG:4326",
            transform=from_bounds(west, south, west + 1, south + 1, 8, 8),
        ) as dst:  # fmt: skip
            dst.write(np.full((1, 8, 8), k, dtype="uint8"))
    (data / "collections.toml").write_text(TOML)


def _indexed(server: LiveServer) -> LiveServer:
    """Wait until the background files indexer has put every tile in the index."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = httpx.get(f"{server.url}/stac/v1/collections/TILES/items", timeout=30).json()
        if body.get("numberMatched") == N_FILES:
            return server
        time.sleep(0.5)
    raise AssertionError(f"the tiles were not indexed: {body}")


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """The same files behind a server on SQLite and one on PostgreSQL (pgstac)."""
    request.getfixturevalue("pgstac_template")  # skips (or fails in CI) without PostGIS
    url = request.getfixturevalue("pg_server").create_database()
    started: list[LiveServer] = []
    try:
        for name, env in (("sqlite", {}), ("pg", {"EOSTATION_DATABASE_URL": url})):
            data = tmp_path_factory.mktemp(name) / "data"
            _write_tiles(data)
            started.append(LiveServer(data, env=env, args=("--no-runners",)).start())
        yield _indexed(started[0]), _indexed(started[1])
    finally:
        for server in started:
            server.stop()


SEARCHES: list[dict[str, Any]] = [
    {},
    {"bbox": [6.2, 50.0, 6.8, 50.6]},
    {"datetime": "2023-06-03T00:00:00Z/2023-06-04T23:59:59Z"},
    {"datetime": "../2023-06-02T00:00:00Z", "bbox": [3.0, 49.0, 5.2, 52.0]},
    {"filter": {"op": "like", "args": [{"property": "id"}, "%_1%"]}, "filter_lang": "cql2-json"},
    {"intersects": {"type": "Point", "coordinates": [7.1, 50.6]}, "sortby": "+id"},
]


@pytest.mark.parametrize("search", SEARCHES, ids=lambda s: "+".join(sorted(s)) or "all")
def test_pystac_client_gets_the_same_items_from_pgstac(
    servers: tuple[LiveServer, LiveServer], search: dict[str, Any]
) -> None:
    from pystac_client import Client

    answers = []
    for server in servers:
        # limit 5: three pages over the whole collection, pystac-client follows the links.
        # The demo collections would answer a bbox too: only the tiles are compared.
        found = Client.open(f"{server.url}/stac/v1").search(
            collections=["TILES"], limit=5, max_items=100, **search
        )
        answers.append(([i.id for i in found.items()], found.matched()))
    on_sqlite, on_pgstac = answers
    assert on_pgstac == on_sqlite
    ids, matched = on_sqlite
    assert matched == len(ids) > 0
    if search == SEARCHES[0]:
        assert matched == N_FILES  # all of them, newest first, across three pages


def test_the_postgresql_server_keeps_no_items_file(servers: tuple[LiveServer, LiveServer]) -> None:
    on_sqlite, on_pgstac = servers
    assert (on_sqlite.data_dir / "items.db").exists()
    assert not (on_pgstac.data_dir / "items.db").exists()
