"""COPERNICUS_30: a synthetic Copernicus DEM GLO-30 (band ``DEM``, metres), static.

Grid: EPSG:4326 at 1 arcsecond (1/3600°, ~30 m). The cube keeps the usual
``(t, bands, y, x)`` dims with a single ``t`` label, 2011-01-01 (start of the
TanDEM-X acquisitions the real DEM is made from); ``temporal_extent`` is ignored,
as the terrain does not change. Heights are the same terrain the other demo
collections see (snow line, SAR local incidence angles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import numpy as np

from ..bands import Band
from . import world
from .grid import Grid, Tile
from .noise import normal, seed_of
from .source import Acquisition, DemoSource, day_number

__all__ = ["CopernicusDem30"]

ARCSEC = 1.0 / 3600.0
_LABEL = day_number(date(2011, 1, 1))
_ROUGH = seed_of("dem-roughness")


class CopernicusDem30(DemoSource):
    """Synthetic Copernicus DEM GLO-30 (CDSE id ``COPERNICUS_30``)."""

    id = "COPERNICUS_30"
    title = "Copernicus DEM GLO-30"
    description = __doc__ or ""
    keywords = ("Copernicus", "DEM", "elevation", "GLO-30", "TanDEM-X")
    bands = (Band("DEM", "Height above the EGM2008 geoid", gsd=30.0, unit="m"),)
    start = date(2011, 1, 1)
    end = date(2015, 1, 1)
    spatial_step = (ARCSEC, ARCSEC)
    spatial_description = "EPSG:4326 at 1 arcsecond."
    time_description = "Static: a single label, 2011-01-01; temporal filters are ignored."
    summaries: ClassVar[Mapping[str, Any]] = {
        "instruments": ["tandem-x"],
        "constellation": ["tandem-x"],
    }

    def grid(self, bbox4326: tuple[float, float, float, float], bands: Sequence[Band]) -> Grid:
        """EPSG:4326 at 1 arcsecond."""
        return Grid.covering(bbox4326, 4326, (ARCSEC, ARCSEC), node_step=4)

    def _days(self, temporal: tuple[str | None, str | None] | None) -> tuple[int, int]:
        return _LABEL, _LABEL + 1  # static: every request gets the one label

    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """The single static label."""
        return [Acquisition(_LABEL, {})]

    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """Terrain interpolated from the nodes plus a little metre-scale roughness."""
        height = tile.interp(world.elevation(*tile.node_lonlat))
        iy, ix = tile.pixel_index
        # Metre-scale roughness on land only: the sea stays exactly at 0 m.
        height = np.where(height > 0.0, np.maximum(height + 0.6 * normal(_ROUGH, iy, ix), 0.5), 0.0)
        return np.broadcast_to(height.astype(np.float32), (len(acquisitions), *tile.shape)).copy()
