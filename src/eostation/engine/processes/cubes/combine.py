"""Combining two cubes: ``mask`` and ``merge_cubes``.

Both align the spatial grids first (the second cube is resampled onto the first one's
grid, nearest neighbour, as ``resample_cube_spatial`` with its defaults) and stay lazy.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.context import Callback
from eostation.engine.cube import (
    band_info,
    carry_metadata,
    dimension_type,
    ensure_cube,
    label_values,
    with_band_info,
)
from eostation.engine.grid import geobox
from eostation.engine.processes.cubes.resample import onto_grid
from eostation.engine.processes.cubes.schemas import CUBE, RASTER, Cube, RasterCube
from eostation.engine.registry import process
from eostation.engine.schema import SCALAR, Context, Param, callback_schema, cb_param
from eostation.errors import IncompatibleDataCubes, OverlapResolverMissing

__all__ = ["align_grid", "mask", "merge_cubes"]


def align_grid(other: xr.DataArray, target: xr.DataArray) -> xr.DataArray:
    """``other`` on the pixel grid of ``target`` (unchanged when the grids already match
    or either cube has no georeferenced grid)."""
    want, have = geobox(target), geobox(other)
    if want is None or have is None or want == have or None in (want.crs, have.crs):
        return other
    return onto_grid(other, want, "near")


@process(
    "mask",
    categories=("cubes", "masks"),
    exceptions={"IncompatibleDataCubes": "The mask does not fit the data cube."},
)
def mask(
    data: RasterCube,
    mask: RasterCube,
    replacement: Annotated[Any, Param(SCALAR)] = None,
) -> Annotated[Any, Param(RASTER)]:
    """Replace the values of a cube where a mask is set.

    A mask value is set when it is true or a non-zero number; a null mask value counts
    as set too (it is not zero). A dimension missing in the mask applies the mask to
    every label of that dimension in the data; other dimensions must match in labels.

    Args:
        data: The raster cube to mask.
        mask: A raster cube of booleans or numbers, on the same or another grid.
        replacement: The value written where the mask is set; null writes the cube's
            no-data value (null for floating-point data).

    Returns:
        The masked cube, with the dimensions and labels of `data`.
    """
    cube = ensure_cube(data, "mask")
    flags = align_grid(ensure_cube(mask, "mask", "mask"), cube)
    for dim in flags.dims:
        if dim not in cube.dims:
            raise IncompatibleDataCubes(reason=f"the mask has a dimension '{dim}' the data lacks")
        if dimension_type(cube, dim) == "spatial":
            continue
        if not np.array_equal(label_values(flags, str(dim)), label_values(cube, str(dim))):
            raise IncompatibleDataCubes(reason=f"the labels of dimension '{dim}' differ")
    spatial = [d for d in flags.dims if dimension_type(cube, d) == "spatial"]
    flags = flags.drop_vars([d for d in spatial if d in flags.coords]).assign_coords(
        {d: cube.coords[d] for d in spatial if d in cube.coords}
    )
    # NaN == 0 is false: a null mask value counts as set without a separate isnull pass.
    keep = flags == 0 if flags.dtype.kind != "b" else ~flags
    if replacement is None:
        fill = cube.attrs.get("nodata", np.nan) if cube.dtype.kind in "iu" else np.nan
    else:
        fill = replacement
    if fill is None or (isinstance(fill, float) and np.isnan(fill) and cube.dtype.kind in "iub"):
        fill = np.nan
    out = cube.where(keep, fill)
    return carry_metadata(out.transpose(*cube.dims), cube)


_RESOLVER = callback_schema(
    [
        cb_param("x", "The value of the first cube.", {}),
        cb_param("y", "The value of the second cube.", {}),
        cb_param("context", "Extra data passed to the process.", {}, default=None),
    ],
    {},
    "The merged value.",
)


def _union(first: np.ndarray, second: np.ndarray, ordered: bool) -> np.ndarray:
    """Labels of both, first's order then second's new ones (sorted when ``ordered``)."""
    known, other = pd.Index(first), pd.Index(second)
    united = known.append(other[~other.isin(known)])
    return np.sort(united.to_numpy()) if ordered else united.to_numpy()


def _presence(cube: xr.DataArray, coords: dict[str, np.ndarray]) -> xr.DataArray:
    """Boolean (broadcast) array: True where a position of the union exists in ``cube``."""
    inside = xr.DataArray(True)
    for dim, values in coords.items():
        if dim in cube.dims:
            known = pd.Index(label_values(cube, dim))
            inside = inside & xr.DataArray(known.get_indexer(values) >= 0, dims=(dim,))
    return inside


@process(
    "merge_cubes",
    categories=("cubes",),
    exceptions={
        "OverlapResolverMissing": "The cubes overlap and no overlap_resolver was given.",
        "IncompatibleGeometryTypes": "Vector cubes with different geometry types.",
    },
)
def merge_cubes(
    cube1: Cube,
    cube2: Cube,
    overlap_resolver: Annotated[Callback | None, Param(_RESOLVER)] = None,
    context: Context = None,
) -> Annotated[Any, Param(CUBE)]:
    """Merge two cubes into one: the union of their labels, resolving overlaps.

    The second cube is put on the first one's pixel grid when they differ. Labels of
    each dimension are united: spatial and temporal labels stay sorted, other labels
    (bands, ...) keep the first cube's order with the second's new ones appended.
    Where both cubes have a value for the same position, `overlap_resolver` combines
    them (once for the whole cube); without it such an overlap is an error. A
    dimension only one cube has is shared by the other cube's values.

    Args:
        cube1: The base cube.
        cube2: The cube merged into it.
        overlap_resolver: Computes the merged value from `x` (cube1) and `y` (cube2).
        context: Extra data passed to the overlap resolver.

    Returns:
        The merged cube.
    """
    first = ensure_cube(cube1, "merge_cubes", "cube1")
    second = align_grid(ensure_cube(cube2, "merge_cubes", "cube2"), first)
    dims = list(first.dims) + [d for d in second.dims if d not in first.dims]
    differing = [
        str(d)
        for d in first.dims
        if d in second.dims
        and not np.array_equal(label_values(first, str(d)), label_values(second, str(d)))
    ]
    shared_all = set(first.dims) == set(second.dims)
    if shared_all and len(differing) == 1:
        dim = differing[0]
        common = set(label_values(first, dim).tolist()) & set(label_values(second, dim).tolist())
        if not common:
            merged = xr.concat([first, second.transpose(*first.dims)], dim=dim, join="override")
            if dimension_type(first, dim) in ("temporal", "spatial"):
                merged = merged.sortby(dim)
            merged[dim].attrs = dict(first[dim].attrs)
            return _finish(merged, first, second)
    coords = {
        str(d): _union(
            label_values(first, str(d)),
            label_values(second, str(d)),
            dimension_type(first, d) in ("temporal", "spatial"),
        )
        for d in differing
    }
    a = first.reindex(coords) if coords else first
    b = second.reindex(coords) if coords else second
    in_a, in_b = _presence(first, coords), _presence(second, coords)
    overlap = in_a & in_b
    if not shared_all or bool(overlap.any()):
        if overlap_resolver is None:
            where = ", ".join(differing) or "every position"
            raise OverlapResolverMissing(reason=f"they share labels ({where})")
        resolved = overlap_resolver(x=a, y=b, context=context)
        if not coords:
            return _finish(xr.DataArray(resolved).transpose(*dims), first, second)
        merged = resolved.where(overlap, a.where(in_a, b))
    else:
        merged = a.where(in_a, b)
    for dim in coords:
        if dim in first.coords:
            merged[dim].attrs = dict(first[dim].attrs)
    return _finish(merged.transpose(*dims), first, second)


def _finish(merged: xr.DataArray, first: xr.DataArray, second: xr.DataArray) -> xr.DataArray:
    extra = band_info(second)
    if extra and "bands" in merged.dims:
        merged = with_band_info(merged, [e for n, e in extra.items() if n not in band_info(first)])
    return carry_metadata(merged, first)
