"""``efast``: Sentinel-2/Sentinel-3 fusion (EFAST, Senty et al. 2024) as one native process.

Same parameters and the same steps as the published EFAST process graph (the openEO UDP
of ESA's APEx catalogue), run on dask without UDFs; :mod:`.efast_kernels` holds the
numeric steps. An eostation process (predefined, experimental): not in the openEO specs
and not offered by CDSE, which runs EFAST as the UDP. See docs/efast.md.

1. Sentinel-2 L2A bands (DN × 0.0001), masked where the scene classification says
   no data, cloud shadow or cloud/cirrus/snow (SCL 0, 3, > 7);
2. that cloud mask averaged onto a 300 m grid (upper-left aligned), cloudy where ≥ 5 %,
   and turned into the distance-to-cloud score;
3. Sentinel-3 SYN bands binned onto their grid (``super_sampling`` 2, pixels with any
   ``CLOUD_flags`` bit left out), their own distance-to-cloud score (distance to missing
   pixels), composites at the target dates (temporal σ 10 days), smoothed by a 5×5
   Gaussian (σ 1 pixel);
4. the smoothed S3 composites interpolated linearly to the S2 dates, then S2 and those
   S3 values composited with the S2 scores at the target dates (σ =
   ``temporal_score_stddev``);
5. the fused value ``S2 composite + S3 at the target date - S3 composite``, or its NDVI.

Steps 1–3 and the interpolation of step 4 run on the coarse grids (tiny arrays). Every
10 m step (the S2 mask, both composites, eq. 3, the NDVI) runs in float32 in one task per
spatial block of the S2 cube, all dates at once (:func:`.efast_kernels.fused_block`); the
coarse layers reach it by nearest neighbour, as ``merge_cubes`` puts them on the 10 m grid
in the graph (:mod:`.efast_grid`: one warp per grid pair, then a gather per block).
"""

from __future__ import annotations

from typing import Annotated, Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.cube import carry_metadata, with_dimension_type
from eostation.engine.processes.cubes.efast_grid import pixel_index
from eostation.engine.processes.cubes.efast_kernels import (
    composite,
    distance_score,
    fused_block,
    temporal_score,
)
from eostation.engine.processes.cubes.io import load_collection
from eostation.engine.processes.cubes.neighborhood import apply_kernel
from eostation.engine.processes.cubes.resample import resample_spatial
from eostation.engine.processes.cubes.schemas import RASTER
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["efast"]

S2_COLLECTION, S3_COLLECTION = "SENTINEL2_L2A", "SENTINEL3_SYN_L2_SYN"
S3_FLAGS = "CLOUD_flags"
S3_BINNING = {
    "reprojection_type": "binning",
    "super_sampling": 2,
    "flag_band": S3_FLAGS,
    "flag_bitmask": 255,
}
S3_SIGMA_DAYS = 10.0
_OFFSETS = np.arange(-2, 3)
SMOOTHING_KERNEL = np.exp(-(_OFFSETS[:, None] ** 2 + _OFFSETS[None, :] ** 2) / 2.0)
SMOOTHING_KERNEL /= SMOOTHING_KERNEL.sum()
# dask picks a rechunk method by asking distributed for a client, which imports
# distributed (~0.1 s) on a local run; EFAST's rechunks are small, "tasks" always fits.
TASKS = "tasks"
_INTERVAL = {"type": "array", "subtype": "temporal-interval", "minItems": 2, "maxItems": 2}
_BANDS = {"type": "array", "items": {"type": "string"}}


def target_dates(extent: Any, fallback: Any, interval_days: int) -> pd.DatetimeIndex:
    """Every ``interval_days`` from the start of ``extent`` (else ``fallback``), end excluded."""
    chosen = extent if extent else fallback
    start, end = (_naive(pd.Timestamp(v)) for v in chosen)
    return pd.date_range(start, end, freq=f"{int(interval_days)}D", inclusive="left")


def _naive(moment: pd.Timestamp) -> pd.Timestamp:
    return moment.tz_convert(None) if moment.tz is not None else moment


def _days(times: Any) -> np.ndarray:
    """Whole days since the epoch (the date, as the graph's ``datetime64[D]``)."""
    return np.asarray(pd.DatetimeIndex(times).values.astype("datetime64[D]").astype(np.int64))


def _composites(
    score: xr.DataArray,
    bands: xr.DataArray,
    weights: np.ndarray,
    targets: pd.DatetimeIndex,
) -> xr.DataArray:
    """:func:`composite` per spatial block: ``(t, y, x)`` scores, ``(t, bands, y, x)`` values."""
    bands = bands.transpose("t", "bands", "y", "x")
    values = bands.data
    if not isinstance(values, da.Array):
        values = da.from_array(np.asarray(values), chunks=(-1, -1, 512, 512))
    spatial = values.chunks[2:]
    values = values.rechunk((-1, -1, *spatial), method=TASKS)
    scores = da.asarray(score.transpose("t", "y", "x").data).rechunk((-1, *spatial), method=TASKS)
    out = da.map_blocks(
        lambda s, v: composite(s[:, 0], weights, v),
        scores[:, None],
        values,
        dtype=np.float64,
        chunks=((len(targets),), values.chunks[1], *spatial),
    )
    coords = {"t": targets.to_numpy(), "bands": bands.bands.values}
    coords |= {d: bands.coords[d] for d in ("y", "x") if d in bands.coords}
    result = xr.DataArray(out, dims=("t", "bands", "y", "x"), coords=coords)
    return carry_metadata(result, bands)


def _blocks(cube: xr.DataArray) -> da.Array:
    """The ``(t, bands, y, x)`` data of ``cube`` as a dask array."""
    data: da.Array = da.asarray(cube.transpose("t", "bands", "y", "x").data)
    return data


def _linear_in_time(cube: xr.DataArray, times: np.ndarray) -> xr.DataArray:
    """``cube`` interpolated linearly along ``t`` to ``times`` (null outside its dates).

    What ``DataArray.interp`` computes (the same bracketing dates, so a null neighbour
    makes a null), without importing ``scipy.interpolate`` (seconds of a short run).
    """
    known, wanted = (
        np.asarray(pd.DatetimeIndex(v).asi8, dtype=np.float64) for v in (cube.t.values, times)
    )
    if known.size < 2:
        return cube.interp(t=times)
    hi = np.clip(np.searchsorted(known, wanted), 1, known.size - 1)
    lo = hi - 1
    fraction = xr.DataArray((wanted - known[lo]) / (known[hi] - known[lo]), dims="t")
    plain = cube.drop_vars("t")
    below, above = plain.isel(t=lo), plain.isel(t=hi)
    out = below + (above - below) * fraction
    inside = xr.DataArray((wanted >= known[0]) & (wanted <= known[-1]), dims="t")
    return out.where(inside).assign_coords(t=times)


def _distance(cloudy: xr.DataArray) -> xr.DataArray:
    """The distance-to-cloud score of ``(t, y, x)`` flags, one date per block."""
    flags = cloudy.transpose("t", "y", "x")
    data = da.asarray(flags.data).rechunk((1, -1, -1), method=TASKS)
    return flags.copy(data=data.map_blocks(distance_score, dtype=np.float64))


def _s3_targets(s3: xr.DataArray, targets: pd.DatetimeIndex) -> tuple[xr.DataArray, xr.DataArray]:
    """Smoothed S3 composites at the target dates, and the same interpolated to no date yet."""
    s3 = s3.transpose("t", "bands", "y", "x")
    score = _distance(s3.isel(bands=0, drop=True).isnull())
    weights = temporal_score(_days(s3.t.values), _days(targets), S3_SIGMA_DAYS)
    composited = _composites(score, s3, weights, targets)
    smoothed: xr.DataArray = apply_kernel(
        data=composited, kernel=SMOOTHING_KERNEL.tolist(), factor=1.0, border=0, replace_invalid=0
    )
    return smoothed, composited


def _fused(
    s2: xr.DataArray,
    scl: xr.DataArray,
    score: xr.DataArray,
    lr_at_s2: xr.DataArray,
    lr_now: xr.DataArray,
    weights: np.ndarray,
    ndvi: tuple[int, int] | None,
) -> da.Array:
    """:func:`fused_block` on every spatial block of ``s2`` (all dates and bands in one
    task): the coarse layers are small and go whole to every block, so nothing is
    upsampled to 10 m but the block being fused."""
    values = _blocks(s2)
    spatial = values.chunks[2:]
    values = values.rechunk((-1, -1, *spatial), method=TASKS)
    classes = da.asarray(scl.transpose("t", "y", "x").data).rechunk((-1, *spatial), method=TASKS)
    whole = [
        da.asarray(layer.transpose(*dims).data).rechunk(-1, method=TASKS)
        for layer, dims in (
            (score, ("t", "y", "x")),
            (lr_at_s2, ("t", "bands", "y", "x")),
            (lr_now, ("t", "bands", "y", "x")),
        )
    ]
    index = [da.from_array(pixel_index(layer, s2), chunks=spatial) for layer in (score, lr_now)]
    out: da.Array = da.blockwise(
        fused_block,
        "kcyx",
        values,
        "tbyx",
        classes,
        "tyx",
        whole[0],
        "tPQ",
        whole[1],
        "tbRS",
        whole[2],
        "kbRS",
        index[0],
        "yx",
        index[1],
        "yx",
        new_axes={"c": 1 if ndvi else values.shape[1]},
        concatenate=True,
        dtype=np.float32,
        weights=weights,
        ndvi=ndvi,
    )
    return out


@process("efast", categories=("cubes", "fusion"), experimental=True)
def efast(
    temporal_extent: Annotated[Any, Param(_INTERVAL)],
    temporal_extent_target: Annotated[Any, Param([_INTERVAL, {"type": "null"}])],
    interval_days: Annotated[int, Param({"type": "integer", "minimum": 1})],
    spatial_extent: Annotated[Any, Param({"type": "object"})],
    temporal_score_stddev: Annotated[float, Param({"type": "number", "exclusiveMinimum": 0})] = 20,
    s2_data_bands: Annotated[list[str], Param(_BANDS)] = ["B02", "B03", "B04", "B8A"],  # noqa: B006
    s3_data_bands: Annotated[list[str], Param(_BANDS)] = [  # noqa: B006 - the UDP's default
        "Syn_Oa04_reflectance",
        "Syn_Oa06_reflectance",
        "Syn_Oa08_reflectance",
        "Syn_Oa17_reflectance",
        "CLOUD_flags",
    ],
    output_ndvi: Annotated[bool, Param({"type": "boolean"})] = False,
    *,
    env: EvalContext,
) -> Annotated[Any, Param(RASTER)]:
    """Fuse Sentinel-2 and Sentinel-3 into a 10 m time series (EFAST), natively.

    Computes what the published EFAST process graph computes, with its parameters, but
    without UDFs: S2 and S3 composites weighted by distance to cloud and by time, the S3
    change between them added to the S2 composite at every target date.

    Args:
        temporal_extent: The input interval `[start, end)`.
        temporal_extent_target: The output interval (inside the input); null uses the
            input interval.
        interval_days: Days between output dates.
        spatial_extent: A bounding box (or GeoJSON) of inputs and output.
        temporal_score_stddev: Standard deviation, in days, of the temporal weights of
            the S2 composites.
        s2_data_bands: `SENTINEL2_L2A` bands to fuse.
        s3_data_bands: `SENTINEL3_SYN_L2_SYN` bands matching `s2_data_bands` in order
            (`CLOUD_flags` is left out).
        output_ndvi: Return the NDVI of `B8A` and `B04` instead of the bands.

    Returns:
        A cube `(t, bands, y, x)` at the target dates on the Sentinel-2 grid.
    """
    lr_bands = [b for b in s3_data_bands if b != S3_FLAGS][: len(s2_data_bands)]
    if len(lr_bands) != len(s2_data_bands):
        raise ProcessParameterInvalid(
            process="efast",
            parameter="s3_data_bands",
            reason=f"{len(s2_data_bands)} Sentinel-3 bands are needed, one per Sentinel-2 band",
        )
    if output_ndvi and not {"B04", "B8A"} <= set(s2_data_bands):
        raise ProcessParameterInvalid(
            process="efast", parameter="output_ndvi", reason="the NDVI needs B04 and B8A"
        )
    targets = target_dates(temporal_extent_target, temporal_extent, interval_days)
    if targets.empty:
        raise ProcessParameterInvalid(
            process="efast", parameter="temporal_extent_target", reason="it holds no date"
        )
    s2 = load_collection(
        S2_COLLECTION, spatial_extent, temporal_extent, bands=s2_data_bands, env=env
    )
    scl = load_collection(
        S2_COLLECTION, spatial_extent, temporal_extent, bands=["SCL"], env=env
    ).isel(bands=0, drop=True)
    cloud = ((scl == 0) | (scl == 3) | (scl > 7)).astype(np.float64).where(scl.notnull())
    coarse = resample_spatial(data=cloud, resolution=300, method="average", align="upper-left")
    s2_score = _distance(coarse >= 0.05)

    s3 = load_collection(
        S3_COLLECTION,
        spatial_extent,
        temporal_extent,
        bands=lr_bands,
        featureflags=S3_BINNING,
        env=env,
    )
    lr_target, _ = _s3_targets(s3, targets)
    lr_at_s2 = _linear_in_time(lr_target, s2.t.values).transpose("t", "bands", "y", "x")
    weights = temporal_score(_days(s2.t.values), _days(targets), float(temporal_score_stddev))
    ndvi = (s2_data_bands.index("B8A"), s2_data_bands.index("B04")) if output_ndvi else None
    data = _fused(s2, scl, s2_score, lr_at_s2, lr_target, weights, ndvi)
    coords = {"t": targets.to_numpy(), "bands": ["ndvi"] if ndvi else list(s2_data_bands)}
    coords |= {d: s2.coords[d] for d in ("y", "x") if d in s2.coords}
    fused = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords=coords)
    out = with_dimension_type(fused.transpose("t", "bands", "y", "x"), "t", "temporal")
    out = carry_metadata(out, s2)
    out.attrs.pop("raster:bands", None)
    return out
