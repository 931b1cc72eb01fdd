"""Climatology: ``climatological_normal`` and ``anomaly``.

A normal is the mean of every observation that falls into the same recurring period
(all Januaries, all winters, all 15 Junes ...) of a climatology period of whole years.
Its temporal labels are the recurring keys of :func:`periods.cycle_key` (``01`` … ``12``,
``djf`` …). ``anomaly`` subtracts from each label of a cube the normal under the key of
that label, so it works on the output of ``aggregate_temporal_period`` (``2020-01``) and
on dated cubes alike.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
import xarray as xr

from eostation.engine.cube import carry_metadata, ensure_cube, label_values, with_dimension_type
from eostation.engine.processes.cubes import periods
from eostation.engine.processes.cubes.schemas import TEMPORAL_CUBE, TemporalCube
from eostation.engine.processes.cubes.temporal import temporal_dimension
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["anomaly", "climatological_normal"]

TemporalOut = Annotated[Any, Param(TEMPORAL_CUBE)]
_WHOLE = ("climatology-period", "single-period")
_NORMAL_PERIODS = ["day", "month", "season", "tropical-season", "climatology-period"]
_CYCLES: dict[str, list[str]] = {
    "day": [f"{d:03d}" for d in range(1, 367)],
    "month": [f"{m:02d}" for m in range(1, 13)],
    "season": ["djf", "mam", "jja", "son"],
    "tropical-season": ["ndjfma", "mjjaso"],
}
_YEARS = Annotated[
    list[int],
    Param(
        {
            "type": "array",
            "uniqueItems": True,
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "integer", "subtype": "year"},
        }
    ),
]


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def _mean(cube: xr.DataArray, dim: str) -> xr.DataArray:
    """NaN-skipping mean accumulated in float64; float32 cubes stay float32."""
    out = cube.astype(np.float64).mean(dim, skipna=True)
    return out.astype(cube.dtype) if cube.dtype.kind == "f" else out


def _dated(cube: xr.DataArray, dim: str, process_id: str) -> pd.DatetimeIndex:
    values = label_values(cube, dim)
    if not np.issubdtype(values.dtype, np.datetime64):
        raise _invalid(process_id, "data", f"the labels of '{dim}' must be dates or date-times")
    return pd.DatetimeIndex(values)


def _normal_groups(times: pd.DatetimeIndex, period: str, first: int, last: int) -> dict[str, Any]:
    """Positions of the observations of each recurring key within the climatology period.

    A period that starts before the first year (the winter from December of the year
    before) counts only when the data reaches back into it; one that ends after the last
    year never counts.
    """
    start, end = (
        pd.Timestamp(year=first, month=1, day=1),
        pd.Timestamp(year=last + 1, month=1, day=1),
    )
    if period == "climatology-period":
        return {"climatology-period": np.flatnonzero((times >= start) & (times < end))}
    owners = [periods.period_start(period, t) for t in times]
    leading = periods.period_start(period, start)
    keep_leading = leading == start or bool(((times >= leading) & (times < start)).any())
    groups: dict[str, list[int]] = {}
    for index, (time, owner) in enumerate(zip(times, owners, strict=True)):
        if owner < leading or (owner == leading and not keep_leading):
            continue
        if periods.next_start(period, owner) > end or time >= end:
            continue
        key = f"{time.dayofyear:03d}" if period == "day" else _key(period, owner)
        groups.setdefault(key, []).append(index)
    return {k: np.asarray(v) for k, v in groups.items()}


def _key(period: str, start: pd.Timestamp) -> str:
    return periods.cycle_key(period, periods.period_label(period, start))


@process("climatological_normal", categories=("cubes", "climatology"))
def climatological_normal(
    data: TemporalCube,
    period: Annotated[str, Param({"type": "string", "enum": _NORMAL_PERIODS})],
    climatology_period: _YEARS = [1981, 2010],  # noqa: B006  (the spec default; never mutated)
) -> TemporalOut:
    """Average each recurring period (day of year, month, season) over a span of years.

    Observations from the first of January of the first year to the end of the last year
    count; a winter (or tropical season) beginning before the first year counts only when
    the cube has data in those earlier months, and one reaching past the last year never
    counts. The normal is the mean of all observations under a key, no-data skipped. The
    temporal dimension keeps its name and gets the labels `001` … `365` (`366` for
    December 31 of leap years; days are days of the year, as in
    ``aggregate_temporal_period``), `01` … `12`, `djf`, `mam`, `jja`, `son`, `ndjfma`,
    `mjjaso` or the single label `climatology-period`, all of them in calendar order, a
    key without observations holding no-data.

    Args:
        data: A cube with one temporal dimension, covering the climatology period.
        period: `day`, `month`, `season`, `tropical-season` or `climatology-period`.
        climatology_period: The first and the last year of the climatology period, both
            included; 1981–2010 by default.

    Returns:
        The normals, one label per recurring period.
    """
    cube = ensure_cube(data, "climatological_normal")
    dim = temporal_dimension(cube, None, "climatological_normal")
    times = _dated(cube, dim, "climatological_normal")
    first, last = (int(y) for y in climatology_period)
    if first > last:
        raise _invalid(
            "climatological_normal", "climatology_period", "the first year is after the last"
        )
    years = set(times.year)
    if first not in years or last not in years:
        raise _invalid(
            "climatological_normal",
            "data",
            f"the cube must cover {first}–{last}; it has data from {times.min():%Y-%m-%d} "
            f"to {times.max():%Y-%m-%d}",
        )
    groups = _normal_groups(times, period, first, last)
    keys = ["climatology-period"] if period == "climatology-period" else _CYCLES[period]
    if period == "day" and "366" not in groups:
        keys = keys[:365]
    dtype = cube.dtype if cube.dtype.kind == "f" else np.dtype(np.float64)
    template = xr.full_like(cube.isel({dim: 0}, drop=True), np.nan, dtype=dtype)
    pieces = [_mean(cube.isel({dim: groups[k]}), dim) if k in groups else template for k in keys]
    out = xr.concat(pieces, dim=dim, coords="minimal", compat="override", join="override")
    out = out.assign_coords({dim: np.asarray(keys, dtype=object)})
    out = with_dimension_type(out, dim, "temporal")
    return carry_metadata(out.transpose(*cube.dims), cube)


def _anomaly_key(label: Any, period: str) -> str:
    if isinstance(label, np.datetime64):
        start = periods.period_start(period, pd.Timestamp(label))
        return f"{start.dayofyear:03d}" if period == "day" else _key(period, start)
    return periods.cycle_key(period, str(label))


def _same_key(a: Any, b: str) -> bool:
    text = str(a)
    if text.isdigit() and b.isdigit():
        return int(text) == int(b)
    return text == b


@process("anomaly", categories=("climatology", "cubes", "math"))
def anomaly(
    data: TemporalCube,
    normals: TemporalCube,
    period: Annotated[str, Param({"type": "string", "enum": [*periods.PERIODS, *_WHOLE]})],
) -> TemporalOut:
    """Subtract from each temporal label of a cube the normal of its recurring period.

    The label `2020-01` (as ``aggregate_temporal_period`` writes it, or a date in January)
    takes the normal labelled `01` for `period` `month`, `2020-djf` the one labelled
    `djf`, and so on; years and decades match the same year. With `climatology-period` or
    `single-period` the normals have one label that applies to every label. Labels
    without a normal give no-data. Other dimensions of the normals must match the cube's.

    Args:
        data: A cube with one temporal dimension labelled by `period`, e.g. from
            ``aggregate_temporal_period``, or with dates.
        normals: Normals with one temporal dimension, e.g. from ``climatological_normal``.
        period: The period of the normals' labels.

    Returns:
        `data` minus the normals, with the dimensions and labels of `data`.
    """
    cube = ensure_cube(data, "anomaly")
    base = ensure_cube(normals, "anomaly", "normals")
    dim = temporal_dimension(cube, None, "anomaly")
    ndim = temporal_dimension(base, None, "anomaly")
    stored = list(label_values(base, ndim))
    if period in _WHOLE:
        if len(stored) != 1:
            raise _invalid("anomaly", "normals", f"'{period}' needs normals with one label")
        picks = [0] * cube.sizes[dim]
    else:
        keys = [_anomaly_key(v, period) for v in label_values(cube, dim)]
        picks = [next((i for i, s in enumerate(stored) if _same_key(s, k)), -1) for k in keys]
        if all(p < 0 for p in picks):
            raise _invalid(
                "anomaly",
                "normals",
                f"no normal matches the labels of '{dim}' for period '{period}' "
                f"(normals: {', '.join(map(str, stored[:5]))}; data: {', '.join(keys[:5])})",
            )
    index = xr.DataArray(np.maximum(np.asarray(picks), 0), dims=[dim])
    aligned = base.drop_vars(ndim, errors="ignore").isel({ndim: index})
    if any(p < 0 for p in picks):
        aligned = aligned.where(xr.DataArray(np.asarray(picks) >= 0, dims=[dim]))
    aligned = aligned.assign_coords({dim: cube.coords[dim]}) if dim in cube.coords else aligned
    extra = [str(d) for d in aligned.dims if d not in cube.dims]
    if extra:
        raise _invalid("anomaly", "normals", f"the cube has no dimension(s) {', '.join(extra)}")
    try:
        xr.align(cube, aligned, join="exact")
    except ValueError as err:
        raise _invalid("anomaly", "normals", f"labels differ from the cube's: {err}") from err
    out = cube - aligned
    return carry_metadata(out.transpose(*cube.dims), cube)
