"""``SENTINEL3_SLSTR_L2_LST``: the land surface temperature agrees with ``SENTINEL3_SLSTR``'s
brightness temperatures, and its flags with the scene."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.demo.sentinel3_lst import CONFIDENCE
from eostation.data.registry import CollectionRegistry, build_registry

#: Two demo days over a coast (sea to the south-west): land, water, some cloud.
REQUEST = {"bbox": (12.0, 44.5, 12.6, 45.0), "temporal": ("2022-06-01", "2022-06-03")}


@pytest.fixture(scope="module")
def registry() -> CollectionRegistry:
    return build_registry()


def _load(
    registry: CollectionRegistry, cid: str, bands: list[str], bbox: object = None
) -> xr.DataArray:
    request = {**REQUEST, "bbox": bbox or REQUEST["bbox"]}
    cube = registry.get(cid).load(LoadRequest(bands=bands, **request))  # type: ignore[arg-type]
    return cube.compute()


def test_lst_is_the_s8_brightness_temperature_over_land(registry: CollectionRegistry) -> None:
    lst = _load(registry, "SENTINEL3_SLSTR_L2_LST", ["LST", "LST_uncertainty", "confidence_in"])
    s8 = _load(registry, "SENTINEL3_SLSTR", ["S8"]).sel(bands="S8")
    # Same acquisitions, same 1 km grid.
    np.testing.assert_array_equal(lst["t"].values, s8["t"].values)
    np.testing.assert_allclose(lst["x"].values, s8["x"].values)
    assert lst.sizes["t"] >= 1 and lst.sizes["x"] == 72  # 0.6° at 1/120°
    temperature = lst.sel(bands="LST").values
    flags = lst.sel(bands="confidence_in").values.astype(np.int64)
    land = (flags & CONFIDENCE["land"]) > 0
    ocean = (flags & CONFIDENCE["ocean"]) > 0
    assert np.array_equal(land, ~ocean) and 0.05 < land.mean() < 0.95, land.mean()
    np.testing.assert_array_equal(temperature[land], s8.values[land])
    assert np.isnan(temperature[ocean]).all()
    assert 260 < float(np.nanmedian(temperature)) < 320
    sigma = lst.sel(bands="LST_uncertainty").values
    assert np.isnan(sigma[ocean]).all() and (sigma[land] >= 0.8).all()
    assert np.all(flags & CONFIDENCE["day"])


def test_cloud_flag_marks_the_cold_pixels(registry: CollectionRegistry) -> None:
    """``confidence_in >= 16384`` (CDSE's cloud mask) leaves the warm, clear land."""
    # Inland Burgundy on those days: opaque cloud over a good part of the window.
    lst = _load(registry, "SENTINEL3_SLSTR_L2_LST", ["LST", "confidence_in"], (4, 47, 4.6, 47.5))
    temperature = lst.sel(bands="LST").values
    flags = lst.sel(bands="confidence_in").values
    cloudy = flags >= CONFIDENCE["summary_cloud"]
    land_clear = ~cloudy & np.isfinite(temperature)
    land_cloudy = cloudy & np.isfinite(temperature)
    assert land_clear.sum() > 500 and land_cloudy.sum() > 500, (land_clear.sum(), land_cloudy.sum())
    # Opaque cloud tops are ~35 K colder than the surface below (cirrus only a few K).
    clear, cold = np.median(temperature[land_clear]), np.median(temperature[land_cloudy])
    assert 285 < clear < 305 and cold < clear - 15, (clear, cold)
