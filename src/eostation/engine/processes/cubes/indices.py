"""Spectral indices computed from bands picked by name or common name: ``ndvi``."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.cube import (
    carry_metadata,
    dims_of_type,
    ensure_cube,
    label_values,
    resolve_band,
    with_band_info,
)
from eostation.engine.processes.cubes.schemas import SPATIAL_XY, datacube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import (
    BandExists,
    DimensionAmbiguous,
    NirBandAmbiguous,
    OpenEOError,
    RedBandAmbiguous,
)

__all__ = ["ndvi", "pick_band"]

BandName = Annotated[str, Param({"type": "string", "subtype": "band-name"})]


def pick_band(cube: xr.DataArray, dim: str, wanted: str, error: type[OpenEOError]) -> xr.DataArray:
    """The one band called ``wanted`` (name first, then common name), without ``dim``."""
    matches = resolve_band(cube, wanted, dim)
    if len(matches) != 1:
        reason = (
            f"no band is called '{wanted}'"
            if not matches
            else f"bands {', '.join(matches)} all have the common name '{wanted}'"
        )
        raise error(reason=reason)
    names = [str(v) for v in label_values(cube, dim)]
    return cube.isel({dim: names.index(matches[0])}, drop=True)


@process(
    "ndvi",
    categories=("cubes", "math > indices", "vegetation indices"),
    exceptions={
        "NirBandAmbiguous": "The near-infrared band is missing or ambiguous.",
        "RedBandAmbiguous": "The red band is missing or ambiguous.",
        "DimensionAmbiguous": "The cube has no single bands dimension.",
        "BandExists": "The target band name is taken.",
    },
)
def ndvi(
    data: Annotated[Any, Param(datacube(SPATIAL_XY, {"type": "bands"}))],
    nir: BandName = "nir",
    red: BandName = "red",
    target_band: Annotated[
        str | None, Param([{"type": "string", "pattern": "^\\w+$"}, {"type": "null"}])
    ] = None,
) -> Annotated[Any, Param(datacube(SPATIAL_XY))]:
    """Normalized difference vegetation index, `(nir - red) / (nir + red)`.

    The two bands are found by band name or, failing that, by common name (the band
    metadata of the collection). Values lie between -1 and 1; null where either band is
    null or both are zero.

    Args:
        data: A raster cube with one bands dimension.
        nir: The near-infrared band: a band name or a common name.
        red: The red band: a band name or a common name.
        target_band: Null to replace the bands dimension by the index; a name to add
            the index to the cube as a new band.

    Returns:
        The index, without the bands dimension, or the cube with one more band.
    """
    cube = ensure_cube(data, "ndvi")
    found = dims_of_type(cube, "bands")
    if len(found) != 1:
        raise DimensionAmbiguous(count=len(found), type="bands", names=", ".join(found) or "none")
    dim = found[0]
    near = pick_band(cube, dim, nir, NirBandAmbiguous)
    visible = pick_band(cube, dim, red, RedBandAmbiguous)
    if near.dtype.kind != "f":
        near, visible = near.astype(np.float64), visible.astype(np.float64)
    with np.errstate(all="ignore"):
        index = (near - visible) / (near + visible)
    index = index.where(np.isfinite(index))
    if target_band is None:
        return carry_metadata(index, cube)
    if target_band in [str(v) for v in label_values(cube, dim)]:
        raise BandExists(band=target_band)
    band = index.expand_dims({dim: [target_band]}).transpose(*cube.dims)
    merged = xr.concat([cube.astype(band.dtype), band], dim=dim, join="override")
    merged[dim].attrs = dict(cube[dim].attrs)
    return carry_metadata(with_band_info(merged, [{"name": target_band}], dim), cube)
