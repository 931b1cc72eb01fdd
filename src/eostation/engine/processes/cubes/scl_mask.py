"""CDSE's cloud mask from the Sen2Cor scene classification: ``to_scl_dilation_mask``.

Not an openEO 2.0 process: CDSE (the openEO GeoPySpark backend) offers it and many
published Sentinel-2 workflows call it. The algorithm follows CDSE's, step by step:

1. two binary masks from the SCL classes: mask 1 flags every pixel whose class is *not*
   in ``mask1_values`` (the clear classes), mask 2 every pixel whose class *is* in
   ``mask2_values`` (clouds, shadows, cirrus, snow);
2. optionally each is eroded with a disc of diameter ``erosion_kernel_size`` (a pixel
   stays flagged only when every pixel in its disc is flagged: isolated misclassified
   pixels disappear);
3. each is dilated by a normalised Gaussian of width ``kernelN_size`` (sigma = size / 6)
   and thresholded, 0.057 for mask 1 and 0.025 for mask 2: a pixel is masked when enough
   flagged pixels lie near it;
4. the result is 1 where either mask is set, 0 elsewhere.

Outside the cube nothing is flagged (the dilation sees zeros there) and the erosion
treats it as flagged, so a cube's border is not eroded away.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.cube import (
    carry_metadata,
    dims_of_type,
    ensure_cube,
    label_values,
    spatial_dims,
)
from eostation.engine.processes.cubes.schemas import RASTER, RasterCube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["dilation_mask", "to_scl_dilation_mask"]

_ID = "to_scl_dilation_mask"
_CLEAR = (2.0, 4.0, 5.0, 6.0, 7.0)
"""Dark area, vegetation, not vegetated, water, unclassified."""
_CLOUDY = (3.0, 8.0, 9.0, 10.0, 11.0)
"""Cloud shadow, cloud medium and high probability, thin cirrus, snow."""
_THRESHOLD1 = 0.057
_THRESHOLD2 = 0.025

_Size = Annotated[float, Param({"type": "number"})]
_Classes = Annotated[list[float], Param({"type": "array", "items": {"type": "number"}})]


def _gaussian(size: int) -> np.ndarray:
    """The 1-D factor of CDSE's normalised square Gaussian kernel (sigma = size / 6)."""
    offsets = np.arange(size) - size // 2
    weights: np.ndarray = np.exp(-(offsets**2) / (2.0 * (size / 6.0) ** 2))
    return weights / float(weights.sum())


def _disc(size: int) -> np.ndarray:
    """A disc of ``size`` pixels across (radius ``size // 2``) as a boolean footprint."""
    radius = size // 2
    offsets = np.arange(size) - size // 2
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2


def _dilate(flags: np.ndarray, erosion: int, size: int, threshold: float) -> np.ndarray:
    import scipy.ndimage  # here: building the process registry must not import it

    if erosion > 0:
        flags = scipy.ndimage.binary_erosion(flags, structure=_disc(erosion), border_value=1)
    if size <= 0:
        return flags
    weights = _gaussian(size)
    smooth = flags.astype(np.float64)
    for axis in (0, 1):  # the square Gaussian is separable: two 1-D passes
        smooth = scipy.ndimage.correlate1d(smooth, weights, axis=axis, mode="constant", cval=0.0)
    return smooth > threshold


def dilation_mask(
    scl: np.ndarray,
    *,
    erosion_kernel_size: int = 0,
    mask1_values: tuple[float, ...] = _CLEAR,
    mask2_values: tuple[float, ...] = _CLOUDY,
    kernel1_size: int = 17,
    kernel2_size: int = 201,
) -> np.ndarray:
    """The mask (1 masked, 0 clear) of one 2-D SCL image, as ``to_scl_dilation_mask``."""
    values = np.asarray(scl)
    first = ~np.isin(values, mask1_values)  # null (NaN) is in no list: flagged, as on CDSE
    second = np.isin(values, mask2_values)
    masked = _dilate(first, erosion_kernel_size, kernel1_size, _THRESHOLD1)
    masked |= _dilate(second, erosion_kernel_size, kernel2_size, _THRESHOLD2)
    return masked.astype(np.uint8)


def _size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ProcessParameterInvalid(process=_ID, parameter=name, reason="expected a number.")
    if value > 2001:
        raise ProcessParameterInvalid(
            process=_ID, parameter=name, reason=f"{value} pixels is more than the limit of 2001."
        )
    return int(value)


def _classes(value: Any, name: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ProcessParameterInvalid(
            process=_ID, parameter=name, reason="expected an array of SCL class numbers."
        )
    return tuple(float(v) for v in value)


def _scl_band(cube: xr.DataArray, band: str | None) -> xr.DataArray:
    found = dims_of_type(cube, "bands")
    if not found:
        return cube
    dim = found[0]
    names = [str(v) for v in label_values(cube, dim)]
    if band is None:
        band = names[0] if len(names) == 1 else "SCL"
    if band not in names:
        raise ProcessParameterInvalid(
            process=_ID,
            parameter="scl_band_name" if len(names) > 1 else "data",
            reason=f"no band '{band}' in the cube (bands: {', '.join(names)}); "
            "pass the cube's SCL band only, or name it with 'scl_band_name'.",
        )
    return cube.isel({dim: names.index(band)}, drop=True)


@process(_ID, categories=("cubes", "cloud masking", "ard"), experimental=True)
def to_scl_dilation_mask(
    data: RasterCube,
    erosion_kernel_size: _Size = 0,
    mask1_values: _Classes = [2, 4, 5, 6, 7],  # noqa: B006 - published default, never mutated
    mask2_values: _Classes = [3, 8, 9, 10, 11],  # noqa: B006 - published default, never mutated
    kernel1_size: _Size = 17,
    kernel2_size: _Size = 201,
    scl_band_name: Annotated[str | None, Param({"type": ["string", "null"]})] = None,
) -> Annotated[Any, Param(RASTER)]:
    """Cloud mask from Sentinel-2 scene classification (SCL), dilated as on CDSE.

    A CDSE process (not in the openEO specifications). Two masks are built from the
    SCL classes: pixels whose class is not a clear class (`mask1_values`) and pixels
    of a cloud-like class (`mask2_values`). Each is optionally eroded by a disc of
    `erosion_kernel_size` pixels (removing isolated pixels), then dilated by a Gaussian
    of `kernel1_size` respectively `kernel2_size` pixels (sigma a sixth of the size,
    thresholds 0.057 and 0.025, as on CDSE); a size of 0 skips that dilation. The
    result is 1 where either mask is set and 0 where the pixel is clear, without a
    bands dimension, so that `mask(data, mask)` applies it to every band.

    Args:
        data: A raster cube holding the SCL band (alone, or named by `scl_band_name`).
        erosion_kernel_size: Diameter in pixels of the erosion disc; 0 for no erosion.
        mask1_values: The clear SCL classes; every other class (and null) is masked
            with the small kernel.
        mask2_values: The SCL classes masked with the large kernel.
        kernel1_size: Width in pixels of the first (small) dilation kernel.
        kernel2_size: Width in pixels of the second (large) dilation kernel.
        scl_band_name: The name of the SCL band when the cube holds several bands
            (default: the only band, else `SCL`).

    Returns:
        The mask: 1 (masked) or 0 (clear) per pixel and time step, without bands.
    """
    cube = ensure_cube(data, _ID)
    options = {
        "erosion_kernel_size": _size(erosion_kernel_size, "erosion_kernel_size"),
        "mask1_values": _classes(mask1_values, "mask1_values"),
        "mask2_values": _classes(mask2_values, "mask2_values"),
        "kernel1_size": _size(kernel1_size, "kernel1_size"),
        "kernel2_size": _size(kernel2_size, "kernel2_size"),
    }
    scl = _scl_band(cube, scl_band_name)
    y, x = spatial_dims(scl)
    if scl.chunks is not None:  # the kernels reach far: each image must be one block
        scl = scl.chunk({y: -1, x: -1})
    result = xr.apply_ufunc(
        lambda image: dilation_mask(image, **options),  # type: ignore[arg-type]
        scl,
        input_core_dims=[[y, x]],
        output_core_dims=[[y, x]],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[np.uint8],
    ).transpose(*scl.dims)
    out = carry_metadata(result, cube)
    out.attrs.pop("nodata", None)
    return out
