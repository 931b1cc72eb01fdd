"""The numeric steps of EFAST (Senty et al. 2024) on NumPy blocks, for the ``efast`` process.

Each function works on plain arrays so that :mod:`.efast` can run it per dask block
(``map_blocks``) and tests can call it directly. The steps follow the published EFAST
process graph (the openEO port of DHI-GRAS's reference implementation):

- :func:`distance_score`: distance (in pixels of the coarse grid) from every pixel to the
  nearest cloudy one, turned into a score that ramps from 0 at one pixel to 1 at
  ``1 + ramp`` pixels (``(d - 1) / ramp`` clipped to 0–1);
- :func:`temporal_score`: a Gaussian of the day difference between every input date and
  every target date (``exp(-Δ² / 2σ²)``);
- :func:`composite`: for every target date the average of the inputs weighted by the
  product of both scores, leaving out inputs whose first band is missing; null where no
  input counts or the average is not positive;
- :func:`fuse`: ``S2 composite + S3 at the target date - S3 composite`` (eq. 3 of the
  paper), keeping the S2 composite where an S3 term is missing or zero;
- :func:`fused_block`: every 10 m step on one spatial block of all dates (S2 masking,
  both composites, the fusion, the NDVI) in float32, the coarse layers gathered onto the
  block by nearest neighbour.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "composite",
    "distance_score",
    "fuse",
    "fused_block",
    "gather",
    "temporal_score",
]

Floats = NDArray[np.float64]

RAMP_PIXELS = 100 / 6
"""Pixels over which the distance score rises from 0 to 1 (the published graph's 16.67)."""


def distance_score(cloudy: NDArray[Any], ramp: float = RAMP_PIXELS) -> Floats:
    """Distance-to-cloud score of ``(t, y, x)`` cloud flags, per date.

    A date without any cloud scores 1 everywhere.
    """
    # Here: every process module is imported to build the registry, and scipy.ndimage
    # costs ~50 ms of imports that only EFAST's scoring needs.
    from scipy.ndimage import distance_transform_edt

    flags = np.asarray(cloudy, dtype=bool)
    out = np.ones(flags.shape, dtype=np.float64)
    for i in range(flags.shape[0]):
        if flags[i].any():
            distance = distance_transform_edt(~flags[i])
            out[i] = np.clip((distance - 1.0) / ramp, 0.0, 1.0)
    return out


def temporal_score(days: NDArray[Any], target_days: NDArray[Any], sigma: float) -> Floats:
    """Gaussian weights ``(target, input)`` of the day differences, ``sigma`` in days."""
    delta = np.asarray(target_days, dtype=np.float64)[:, None] - np.asarray(days, np.float64)
    weights: Floats = np.exp(-0.5 * np.square(delta) / float(sigma) ** 2)
    return weights


def composite(
    score: NDArray[Any],
    weights: Floats,
    bands: NDArray[Any],
    observed: NDArray[Any] | None = None,
    dtype: type[np.floating[Any]] = np.float64,
) -> NDArray[Any]:
    """Weighted composites ``(target, band, y, x)`` of ``bands`` ``(t, band, y, x)``.

    ``score`` ``(t, y, x)`` is the distance score of each input pixel and ``weights``
    ``(target, t)`` the temporal score. An input pixel counts only where its first band
    has a value (or where ``observed`` ``(t, y, x)`` is true: the first band of another
    cube composited alongside); missing values of the other bands count as 0, as in the
    published graph. ``dtype`` is the precision of the sums and of the result.
    """
    values = np.asarray(bands, dtype=dtype)
    dates = values.shape[0]
    seen = ~np.isnan(values[:, 0]) if observed is None else np.asarray(observed, dtype=bool)
    counted = np.where(seen, np.asarray(score, dtype=dtype), 0.0)
    matrix = np.asarray(weights, dtype=dtype)
    # np.nan_to_num tests for NaN, +inf and -inf in three passes; one isfinite does.
    # In place where possible: every new array of a 10 m block is ~25 MB of fresh pages.
    weighted = np.where(np.isfinite(values), values, 0.0)
    weighted *= counted[:, None]
    # Sums over the dates as matrix products (BLAS): the weighted sum divided by the sum
    # of weights equals the sum with normalised weights, without a (target, t, y, x) array.
    total = (matrix @ counted.reshape(dates, -1)).reshape((-1, *counted.shape[1:]))
    out: NDArray[Any] = (matrix @ weighted.reshape(dates, -1)).reshape((-1, *values.shape[1:]))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(out, total[:, None], out=out)
    # Where no input counts, total and sums are 0 and so is 0 / 0 null: one test covers
    # both the missing composite and the one that is not positive.
    np.copyto(out, np.nan, where=~(out > 0))
    return out


def fuse(
    hr_composite: NDArray[Any], lr_composite: NDArray[Any], lr_target: NDArray[Any]
) -> NDArray[Any]:
    """``hr + lr_target - lr``; the S2 composite alone where an S3 term is missing or 0.

    In the precision of the inputs (float64 unless all three are float32).
    """
    hr, lr, target = (np.asarray(v) for v in (hr_composite, lr_composite, lr_target))
    invalid = (lr == 0) | np.isnan(lr) | (target == 0) | np.isnan(target)
    fused: NDArray[Any] = np.subtract(target, lr, dtype=np.result_type(hr, lr, target))
    fused += hr
    np.copyto(fused, hr, where=invalid)
    return fused


def gather(coarse: NDArray[Any], index: NDArray[np.int64]) -> NDArray[np.float32]:
    """``coarse`` ``(..., Y, X)`` at the pixels ``index`` ``(y, x)`` names: ``(..., y, x)``
    float32, null where the index is -1."""
    planes = np.asarray(coarse, dtype=np.float32).reshape(*coarse.shape[:-2], -1)
    # One flat take along the last axis: one pass over the output.
    out: NDArray[np.float32] = np.take(planes, np.maximum(index, 0).ravel(), axis=-1)
    out = out.reshape(*coarse.shape[:-2], *index.shape)
    out[..., index < 0] = np.nan
    return out


S2_SCALE = np.float32(0.0001)
"""Sentinel-2 L2A digital numbers to reflectance (float32, as ``DN * 0.0001`` on float32)."""


def fused_block(
    s2: NDArray[Any],
    scl: NDArray[Any],
    score: NDArray[Any],
    lr_at_s2: NDArray[Any],
    lr_now: NDArray[Any],
    score_index: NDArray[np.int64],
    lr_index: NDArray[np.int64],
    *,
    weights: Floats,
    ndvi: tuple[int, int] | None = None,
) -> NDArray[np.float32]:
    """The fused 10 m values ``(target, band, y, x)`` of one spatial block, in float32.

    ``s2`` ``(t, band, y, x)`` holds Sentinel-2 digital numbers and ``scl`` ``(t, y, x)``
    the scene classification; a pixel is left out where SCL is null, 0, 3 or > 7. The
    coarse layers come whole: ``score`` ``(t, Y, X)`` (the S2 distance score at 300 m),
    ``lr_at_s2`` ``(t, band, Y', X')`` (S3 composites at the S2 dates) and ``lr_now``
    ``(target, band, Y', X')`` (S3 composites at the target dates); ``score_index`` and
    ``lr_index`` ``(y, x)`` name their pixel nearest to each pixel of the block
    (:func:`.efast_grid.pixel_index`). ``weights`` ``(target, t)`` are the temporal
    scores. With ``ndvi`` (the band positions of NIR and red) the one band is the NDVI.
    """
    classes = np.asarray(scl)
    keep = ~((classes == 0) | (classes == 3) | (classes > 7) | np.isnan(classes))
    # S2 and the S3 values at the S2 dates side by side as one set of bands: composited
    # in one pass with the same weights, counted where S2's first band is observed.
    bands = s2.shape[1]
    both = np.empty((s2.shape[0], 2 * bands, *s2.shape[2:]), dtype=np.float32)
    hr = both[:, :bands]
    np.multiply(np.asarray(s2, dtype=np.float32), S2_SCALE, out=hr)
    np.copyto(hr, np.nan, where=~keep[:, None])
    both[:, bands:] = gather(lr_at_s2, lr_index)
    seen = ~np.isnan(hr[:, 0])
    composites = composite(gather(score, score_index), weights, both, seen, dtype=np.float32)
    fused: NDArray[np.float32] = fuse(
        composites[:, :bands], composites[:, bands:], gather(lr_now, lr_index)
    )
    if ndvi is not None:
        nir, red = fused[:, ndvi[0]], fused[:, ndvi[1]]
        fused = ((nir - red) / (nir + red))[:, None]
    return fused
