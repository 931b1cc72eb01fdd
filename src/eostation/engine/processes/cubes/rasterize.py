"""``vector_to_raster``: burn a vector cube's values into the grid of a raster cube.

A CDSE process (not in the openEO 2.0 specifications). Each geometry's values (one per
label of the vector cube's other dimensions, e.g. bands and times from
``aggregate_spatial``) are written into the pixels it covers on the target's grid:
polygons cover the pixels whose centres they contain, points and lines every pixel
they touch (rasterio's rules). Where geometries overlap, the later one wins; pixels
that no geometry covers are null.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import rasterio.features
import shapely
import xarray as xr

from eostation.engine.cube import ensure_cube, spatial_dims
from eostation.engine.grid import geobox
from eostation.engine.processes.cubes.geometries import GEOMETRIES_DIM, cube_crs, geometry_set
from eostation.engine.processes.cubes.schemas import RASTER, RasterCube, VectorCube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["vector_to_raster"]

_ID = "vector_to_raster"


def _invalid(parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=_ID, parameter=parameter, reason=reason)


def _values(vector: xr.DataArray) -> tuple[np.ndarray, xr.DataArray]:
    """The values as ``(geometries, rest...)`` floats, and a template of the rest."""
    if vector.dtype.kind not in "biuf":
        raise _invalid("data", f"the values must be numbers, not {vector.dtype}.")
    ordered = vector.transpose(GEOMETRIES_DIM, ...)
    values = np.asarray(ordered.values, dtype=np.float64)
    template = ordered.isel({GEOMETRIES_DIM: 0}, drop=True)
    return values, template


@process(_ID, categories=("cubes", "vector"), experimental=True)
def vector_to_raster(data: VectorCube, target: RasterCube) -> Annotated[Any, Param(RASTER)]:
    """Write the values of a vector cube into the pixels of a raster cube's grid (CDSE).

    A CDSE process (not in the openEO specifications). The result has the spatial grid
    (extent, resolution, CRS) of `target` and, besides `x` and `y`, the vector cube's
    dimensions other than its geometries (e.g. `bands` and `t` of an
    `aggregate_spatial` result). A polygon covers the pixels whose centres it
    contains; points and lines every pixel they touch. Later geometries overwrite
    earlier ones where they overlap; uncovered pixels are null.

    Args:
        data: A vector cube with numeric values.
        target: A raster cube whose grid the result takes (its values are not used).

    Returns:
        A raster cube on the grid of `target` holding the vector cube's values.
    """
    if not isinstance(data, xr.DataArray) or GEOMETRIES_DIM not in data.dims:
        raise _invalid("data", "expected a vector cube (with a geometries dimension).")
    grid_cube = ensure_cube(target, _ID, "target")
    box = geobox(grid_cube)
    if box is None:
        raise _invalid("target", "the cube has no regular spatial grid to rasterize onto.")
    ydim, xdim = spatial_dims(grid_cube)
    shapes = geometry_set(data, _ID, "data").to_crs(cube_crs(grid_cube)).geometries
    values, template = _values(data)
    burn = [
        (shapely.geometry.mapping(geom), i + 1)
        for i, geom in enumerate(shapes)
        if geom is not None and not shapely.is_empty(geom)
    ]
    height, width = box.shape
    index = (
        rasterio.features.rasterize(
            burn, out_shape=(height, width), transform=box.affine, fill=0, dtype="int32"
        )
        if burn
        else np.zeros((height, width), dtype=np.int32)
    )
    table = np.concatenate([np.full((1, *values.shape[1:]), np.nan), values])
    pixels = np.moveaxis(table[index], (0, 1), (-2, -1))
    coords: dict[Any, Any] = {d: template.coords[d] for d in template.dims if d in template.coords}
    coords.update({ydim: grid_cube.coords[ydim], xdim: grid_cube.coords[xdim]})
    coords.update({n: c for n, c in grid_cube.coords.items() if c.ndim == 0})
    result = xr.DataArray(pixels, dims=(*template.dims, ydim, xdim), coords=coords)
    result.attrs = {k: v for k, v in grid_cube.attrs.items() if k not in ("raster:bands", "nodata")}
    return result
