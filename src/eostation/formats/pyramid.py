"""GeoTIFF overviews built from the blocks as they are written, not from the finished file.

GDAL's COG driver builds overviews by reading the full-resolution image back: for a
layer streamed through a compressed scratch file (4096² × 4 float32 bands) that costs
more than the rest of the write together. Here every block the writer computes is also
halved, level after level, into one small tiled GeoTIFF per overview level; a VRT that
names those files as the overviews of the scratch file is then copied by the COG driver
with ``OVERVIEWS=FORCE_USE_EXISTING``, which copies overviews instead of computing them.

The levels equal GDAL's own: GDAL computes each level from the previous one, where a
level is an exact half as the 2×2 mean of the valid pixels for ``AVERAGE`` (no valid
pixel: nodata) and the top-left pixel for ``NEAREST``; that is done here, block by block,
down to the last level that is an exact half of the layer and whose 2×2 blocks the
chunks do not cut. Below it (an odd size on the way down, where GDAL weighs partial
pixels) the COG driver builds the remaining levels from that level's file, a quarter of
the layer or less. When not even the first level is an exact half, :meth:`Pyramid.plan`
returns None and GDAL builds the overviews from the full resolution as before.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

__all__ = ["Pyramid", "halve", "overview_count"]


def overview_count(width: int, height: int, block: int) -> int:
    """Levels GDAL's COG driver makes with ``OVERVIEWS=AUTO``: halve until both sides fit a block."""
    levels = 0
    while (width >> levels) > block or (height >> levels) > block:
        levels += 1
    return levels


def halve(band: np.ndarray[Any, Any], nodata: float | None, average: bool) -> np.ndarray[Any, Any]:
    """One overview step of a 2-D ``band`` with even sides, as GDAL computes it.

    ``average``: the mean of the valid pixels of each 2×2 block (summed in float64 as
    GDAL does, then cast back), nodata where none is valid; otherwise the top-left pixel.
    """
    if not average:
        return band[::2, ::2].copy()
    missing = np.isnan(band)
    if nodata is not None and not math.isnan(nodata):
        missing |= band == nodata
    if not missing.any():  # most blocks: no mask to carry
        total = band[0::2, 0::2].astype(np.float64)
        total += band[1::2, 0::2]
        total += band[0::2, 1::2]
        total += band[1::2, 1::2]
        total *= 0.25
        return total.astype(band.dtype)
    values = np.where(missing, 0, band)
    total = values[0::2, 0::2].astype(np.float64)
    count = 4 - missing[0::2, 0::2].astype(np.uint8)
    for rows, cols in ((1, 0), (0, 1), (1, 1)):
        total += values[rows::2, cols::2]
        count -= missing[rows::2, cols::2]
    empty = count == 0
    total /= np.where(empty, 1, count)
    total[empty] = math.nan if nodata is None else nodata
    return total.astype(band.dtype)


class Pyramid:
    """The overview levels of one ``(bands, y, x)`` layer, filled block by block.

    Use as a context manager around the writing of the full resolution (it opens one
    scratch GeoTIFF per level), feed it every block written with :meth:`add`, then
    :meth:`source` gives the VRT to copy into the COG; :meth:`remove` deletes its files.
    """

    def __init__(
        self, base: Path, profile: dict[str, Any], levels: int, exact: int, *, average: bool
    ) -> None:
        self.base, self.profile, self.average, self.levels = base, profile, average, levels
        self.paths = [base.with_name(f"{base.name}.ovr{k}.tif") for k in range(1, exact + 1)]
        self._rest = base.with_name(f"{base.name}.ovr.tif")
        self._files: list[Any] = []
        self._stack = ExitStack()

    @classmethod
    def plan(
        cls,
        base: Path,
        profile: dict[str, Any],
        chunks: Sequence[Sequence[int]] | None,
        *,
        average: bool,
    ) -> Pyramid | None:
        """A pyramid for a layer written with ``profile`` in ``chunks`` (None: one block).

        Levels are made from the blocks down to the last one that is an exact half of the
        layer and whose 2×2 blocks no chunk edge cuts; the COG driver makes the rest from
        it. None when the layer needs no overviews or when not even the first level
        qualifies (see the module docstring).
        """
        width, height, block = profile["width"], profile["height"], profile["blockxsize"]
        levels = overview_count(width, height, block)
        edges = [width, height]
        for sizes in chunks[1:] if chunks is not None else ():
            edges += list(sizes)[:-1]
        exact = 0
        while exact < levels and all(edge % (2 << exact) == 0 for edge in edges):
            exact += 1
        if exact == 0:
            return None
        return cls(base, profile, levels, exact, average=average)

    def __enter__(self) -> Pyramid:
        for k, path in enumerate(self.paths, start=1):
            level = dict(self.profile, width=self.profile["width"] >> k)
            level.update(height=self.profile["height"] >> k, interleave="band", compress=None)
            level.pop("zstd_level", None)
            self._files.append(self._stack.enter_context(rasterio.open(path, "w", **level)))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._files = []
        self._stack.close()

    def add(self, block: np.ndarray[Any, Any], window: Window, first_band: int) -> None:
        """Halve a written ``(bands, rows, cols)`` block into every level below it."""
        nodata = self.profile.get("nodata")
        indexes = list(range(first_band + 1, first_band + block.shape[0] + 1))
        col, row = int(window.col_off), int(window.row_off)
        for k, dst in enumerate(self._files, start=1):
            block = np.stack([halve(b, nodata, self.average) for b in block])
            at = Window(col >> k, row >> k, block.shape[2], block.shape[1])
            dst.write(block, indexes=indexes, window=at)

    def source(self, scratch: Path) -> Path:
        """A VRT of ``scratch`` (its metadata included) whose overviews are the levels."""
        vrt = self.base.with_name(f"{self.base.name}.vrt")
        rasterio.shutil.copy(scratch, vrt, driver="VRT")
        sources = [str(path) for path in self.paths]
        if len(self.paths) < self.levels:
            # The levels below the last exact half: GDAL's COG driver makes them from that
            # level (1/4 of the layer or less) exactly as it would from its own level;
            # "GTIFF_DIR:n:" opens the n-th image of the file, here its overviews.
            rasterio.shutil.copy(
                self.paths[-1],
                self._rest,
                driver="COG",
                COMPRESS="ZSTD",
                LEVEL=1,
                BLOCKSIZE=self.profile["blockxsize"],
                OVERVIEWS="AUTO",
                RESAMPLING="AVERAGE" if self.average else "NEAREST",
                BIGTIFF="IF_SAFER",
            )
            for n in range(2, self.levels - len(self.paths) + 2):
                sources.append(f"GTIFF_DIR:{n}:{self._rest}")
        tree = ET.parse(vrt)
        for band in tree.getroot().iter("VRTRasterBand"):
            for source in sources:
                overview = ET.SubElement(band, "Overview")
                name = ET.SubElement(overview, "SourceFilename", relativeToVRT="0")
                name.text = source
                ET.SubElement(overview, "SourceBand").text = band.get("band")
        tree.write(vrt)
        return vrt

    def remove(self) -> None:
        """Delete the level files and the VRT (missing ones are fine)."""
        for path in [*self.paths, self._rest, self.base.with_name(f"{self.base.name}.vrt")]:
            path.unlink(missing_ok=True)
