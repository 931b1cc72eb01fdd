"""The demo world computes a chunk's shared fields once: across dates, bands and loads.

EFAST loads the S2 bands, SCL and binned S3 bands as separate cubes of one place; the
fields they share (land cover, node weather, scenes) must be computed once per chunk,
and doing so must not change a value.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import dask
import numpy as np
import pytest

from eostation.data.base import LoadRequest
from eostation.data.demo import ground, nodes, optical, world
from eostation.data.demo.cache import ByteCache
from eostation.data.demo.grid import Grid
from eostation.data.demo.sentinel2 import Sentinel2L2A
from eostation.data.demo.sentinel3 import SynL2

# 1.3 × 1.1 km in Senegal (EFAST's benchmark place), two chunks of 64 pixels across.
BBOX = (-15.9, 15.67, -15.888, 15.68)
WINDOW = ("2023-09-01", "2023-10-01")
BINNING = {"reprojection_type": "binning", "super_sampling": 2, "flag_band": "CLOUD_flags"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the computations of a chunk's land cover, scenes and node weather batches."""
    counter: Counter[str] = Counter()

    def counting(module: Any, name: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counter[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module, name in ((ground, "_static"), (optical, "_scene"), (nodes, "_node_weathers")):
        counting(module, name)
    optical.clear_caches()
    yield counter
    optical.clear_caches()


def _small_chunks(monkeypatch: pytest.MonkeyPatch, source: type[Any], side: int) -> None:
    monkeypatch.setattr(source, "chunk_xy", side)


def test_separate_loads_of_one_place_compute_its_land_cover_once_per_chunk(
    calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch, Sentinel2L2A, 64)
    source = Sentinel2L2A()
    bands = source.load(LoadRequest(bbox=BBOX, temporal=WINDOW, bands=["B04", "B8A"]))
    scl = source.load(LoadRequest(bbox=BBOX, temporal=WINDOW, bands=["SCL"]))
    chunks = len(bands.chunks[2]) * len(bands.chunks[3])
    dates = bands.sizes["t"]
    assert chunks >= 4 and dates >= 5
    with dask.config.set(scheduler="threads", num_workers=2):
        dask.compute(bands, scl)
    # At most twice per chunk (once per load when they do not overlap in time), never
    # once per date: a single-band load used to look its land cover up for each date.
    assert calls["_static"] <= 2 * chunks
    # All dates of a chunk share one node weather pass.
    assert calls["_node_weathers"] <= 2 * chunks
    # B8A finds the scenes B04 computed.
    assert calls["_scene"] <= 2 * chunks * dates


def test_a_single_band_load_computes_its_land_cover_once_per_chunk(
    calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch, Sentinel2L2A, 64)
    # An LRU too small for one chunk's land cover: only holding it keeps it.
    monkeypatch.setattr(ground, "_STATICS", ByteCache(1))
    scl = Sentinel2L2A().load(LoadRequest(bbox=BBOX, temporal=WINDOW, bands=["SCL"]))
    with dask.config.set(scheduler="synchronous"):
        scl.compute()
    assert calls["_static"] == len(scl.chunks[2]) * len(scl.chunks[3])


def test_binned_sentinel3_bands_share_their_scenes(calls: Counter[str]) -> None:
    cube = SynL2().load(
        LoadRequest(
            bbox=(-15.9, 15.67, -15.81, 15.76),
            temporal=WINDOW,
            bands=["SDR_Oa08", "SDR_Oa17"],
            options=BINNING,
        )
    )
    with dask.config.set(scheduler="synchronous"):
        values = cube.values
    # One scene per date for both bands and their flags (it was one per band).
    assert calls["_scene"] == cube.sizes["t"]
    assert calls["_node_weathers"] == 1
    assert np.isfinite(values).mean() > 0.3


def test_pinned_and_unpinned_loads_give_identical_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sharing fields changes no value: bands loaded together equal bands loaded alone."""
    _small_chunks(monkeypatch, Sentinel2L2A, 64)
    source = Sentinel2L2A()
    together = source.load(LoadRequest(bbox=BBOX, temporal=WINDOW, bands=["B04", "SCL", "B8A"]))
    optical.clear_caches()
    with dask.config.set(scheduler="threads", num_workers=2):
        joint = together.values
    for i, band in enumerate(["B04", "SCL", "B8A"]):
        optical.clear_caches()
        alone = source.load(LoadRequest(bbox=BBOX, temporal=WINDOW, bands=[band]))
        with dask.config.set(scheduler="synchronous"):
            np.testing.assert_array_equal(alone.values[:, 0], joint[:, i])


def test_weather_of_many_days_equals_one_day_at_a_time() -> None:
    grid = Grid.covering(BBOX, 32628, (10.0, 10.0), node_step=16)
    tile = grid.tile(0, 64, 0, 64)
    days = [19601.0, 19603.0, 19608.0, 19612.5]
    batch = nodes._node_weathers(tile, days)
    for day, together in zip(days, batch, strict=True):
        alone = nodes._node_weathers(tile, [day])[0]
        for name in ("temp", "cloud", "shade", "cirrus"):
            np.testing.assert_array_equal(getattr(together, name), getattr(alone, name))
    lon, lat = tile.node_lonlat
    stacked = world.cloud_index_days(np.stack([lon] * 4), np.stack([lat] * 4), days)
    for i, day in enumerate(days):
        np.testing.assert_array_equal(stacked[i], world.cloud_index(lon, lat, day))
    # The days differ (clouds move), so the batch did not repeat one day.
    assert not np.array_equal(stacked[0], stacked[1])


def test_byte_cache_computes_a_key_once_while_threads_wait() -> None:
    cache: ByteCache[np.ndarray] = ByteCache(2**20)
    started, release = threading.Event(), threading.Event()
    made: list[int] = []

    def make() -> np.ndarray:
        made.append(1)
        started.set()
        release.wait(5)
        return np.ones(4)

    results: list[np.ndarray] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", make)))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.append(cache.get("k", make)))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first thread's value, not computing it
    release.set()
    first.join(5)
    second.join(5)
    assert len(made) == 1
    assert results[0] is results[1]


def test_byte_cache_recomputes_after_a_failed_computation() -> None:
    cache: ByteCache[np.ndarray] = ByteCache(2**20)

    def fail() -> np.ndarray:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get("k", fail)
    np.testing.assert_array_equal(cache.get("k", lambda: np.zeros(2)), np.zeros(2))


def test_a_pinned_value_too_large_for_the_cache_is_found_while_held() -> None:
    cache: ByteCache[np.ndarray] = ByteCache(8)
    held = cache.pin("k", lambda: np.ones(100))
    assert cache.find("k") is held
    del held
    assert cache.find("k") is None
