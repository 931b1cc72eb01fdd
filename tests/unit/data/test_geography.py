"""The demo world's lakes: right answers, and only the polygons a request touches built."""

from __future__ import annotations

import numpy as np

from eostation.data.demo import geography


def test_lake_mask_knows_lakes_islands_and_land() -> None:
    # Lake Geneva, Lake Superior, Isle Royale (an island in Lake Superior), Lyon, Lake
    # Victoria's Ukerewe island and the lake beside it.
    lon = np.array([6.55, -87.0, -88.9, 4.85, 33.0, 32.6])
    lat = np.array([46.45, 47.5, 48.0, 45.76, -2.05, -1.5])
    assert geography.lake_mask(lon, lat).tolist() == [True, True, False, False, False, True]


def test_a_request_builds_only_the_lake_polygons_near_it() -> None:
    geography._lakes.cache_clear()  # a fresh process: no polygon built yet
    lakes = geography._lakes()
    assert lakes.polygons == {}
    window = np.meshgrid(np.linspace(6.2, 6.9, 50), np.linspace(46.2, 46.5, 50))
    inside = geography.lake_mask(*window)
    assert 0.2 < inside.mean() < 0.9  # Lake Geneva's eastern half
    assert len(lakes.starts) - 1 > 7000  # every level-2/3 polygon of GSHHS "intermediate"
    assert len(lakes.polygons) < 100  # ... but only those near the request
