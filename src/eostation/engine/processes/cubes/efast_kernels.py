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
  paper), keeping the S2 composite where an S3 term is missing or zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["composite", "distance_score", "fuse", "temporal_score"]

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
) -> Floats:
    """Weighted composites ``(target, band, y, x)`` of ``bands`` ``(t, band, y, x)``.

    ``score`` ``(t, y, x)`` is the distance score of each input pixel and ``weights``
    ``(target, t)`` the temporal score. An input pixel counts only where its first band
    has a value (or where ``observed`` ``(t, y, x)`` is true: the first band of another
    cube composited alongside); missing values of the other bands count as 0, as in the
    published graph.
    """
    values = np.asarray(bands, dtype=np.float64)
    dates = values.shape[0]
    seen = ~np.isnan(values[:, 0]) if observed is None else np.asarray(observed, dtype=bool)
    counted = np.where(seen, np.asarray(score, dtype=np.float64), 0.0)
    weighted = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    weighted *= counted[:, None]
    # Sums over the dates as matrix products (BLAS): the weighted sum divided by the sum
    # of weights equals the sum with normalised weights, without a (target, t, y, x) array.
    total = (weights @ counted.reshape(dates, -1)).reshape((-1, *counted.shape[1:]))
    sums = (weights @ weighted.reshape(dates, -1)).reshape((-1, *values.shape[1:]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: Floats = sums / total[:, None]
    missing = (total == 0)[:, None] | ~(out > 0)
    out[missing] = np.nan
    return out


def fuse(hr_composite: NDArray[Any], lr_composite: NDArray[Any], lr_target: NDArray[Any]) -> Floats:
    """``hr + lr_target - lr``; the S2 composite alone where an S3 term is missing or 0."""
    hr = np.asarray(hr_composite, dtype=np.float64)
    lr = np.asarray(lr_composite, dtype=np.float64)
    target = np.asarray(lr_target, dtype=np.float64)
    invalid = (lr == 0) | np.isnan(lr) | (target == 0) | np.isnan(target)
    fused: Floats = np.where(invalid, hr, hr + target - lr)
    return fused
