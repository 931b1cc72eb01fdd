"""An EFAST-shaped user-defined process of our own: every construct the published EFAST
graph uses, with UDFs written here against the official ``openeo.udf`` API.

Parameters are those of the published UDP. Unlike it, the Sentinel-3 reflectances are
not multiplied by 0.0001: eostation's SYN collection holds reflectance (0–1).
"""

from __future__ import annotations

import textwrap
from typing import Any

DISTANCE_UDF = textwrap.dedent(
    """
    import numpy as np
    import xarray as xr
    from scipy import ndimage
    from openeo.udf import XarrayDataCube

    def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
        flags = cube.get_array()
        out = np.full(flags.shape, np.inf)
        for i in range(flags.shape[0]):
            # As in the published graph (np.logical_not): no-data counts as cloud.
            cloudy = np.asarray(flags[i]) != 0
            if cloudy.any():
                out[i] = ndimage.distance_transform_edt(~cloudy)
        return XarrayDataCube(xr.DataArray(out, dims=flags.dims))
    """
)

_DATES = """
def target_dates(context):
    start, end = context.get("target") or context["input"]
    start, end = (pd.Timestamp(v) for v in (start, end))
    start, end = (v.tz_convert(None) if v.tz is not None else v for v in (start, end))
    return pd.date_range(start, end, freq=f"{int(context['interval'])}D", inclusive="left")
"""

COMPOSITE_UDF = (
    textwrap.dedent(
        """
    import numpy as np
    import pandas as pd
    import xarray as xr
    """
    )
    + textwrap.dedent(_DATES)
    + textwrap.dedent(
        """
    def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
        targets = target_dates(context)
        days = cube.t.values.astype("datetime64[D]").astype(np.int64)
        wanted = targets.values.astype("datetime64[D]").astype(np.int64)
        temporal = np.exp(-0.5 * ((wanted[:, None] - days[None, :]) / context["sigma"]) ** 2)
        score = cube.sel(bands="distance_score").transpose("t", "y", "x").values
        data = cube.drop_sel(bands="distance_score").transpose("t", "bands", "y", "x")
        values = data.values.astype(np.float64)
        counted = np.where(np.isnan(values[:, 0]), 0.0, score)
        weights = temporal[:, :, None, None] * counted[None]
        total = weights.sum(axis=1)
        clean = np.where(np.isfinite(values), values, 0.0)
        with np.errstate(all="ignore"):
            out = np.einsum("Ttyx,tbyx->Tbyx", weights / total[:, None], clean)
        out[(total == 0)[:, None] | ~(out > 0)] = np.nan
        coords = {"t": targets, "bands": data.bands.values, "y": cube.y, "x": cube.x}
        return xr.DataArray(out, dims=("t", "bands", "y", "x"), coords=coords)
    """
    )
)

INTERPOLATE_UDF = (
    textwrap.dedent(
        """
    import pandas as pd
    import xarray as xr
    import openeo
    """
    )
    + textwrap.dedent(_DATES)
    + textwrap.dedent(
        """
    def apply_datacube(cube: xr.DataArray, context) -> xr.DataArray:
        if isinstance(context, dict):
            targets, suffix = target_dates(context), context.get("suffix", "")
        else:  # the labels of another cube, from dimension_labels
            targets, suffix = pd.to_datetime(list(context), utc=True).tz_localize(None), ""
        out = cube.interp(t=targets)
        out = out.assign_coords(bands=[f"{b}{suffix}" for b in out.bands.values])
        return out.transpose("t", "bands", "y", "x")
    """
    )
)

FUSE_UDF = textwrap.dedent(
    """
    import xarray as xr

    def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
        low = [b for b in context["lr"] if b != "CLOUD_flags"]
        parts = []
        for high, coarse in zip(context["hr"], low):
            composite = cube.sel(bands=coarse)
            now = cube.sel(bands=coarse + context["suffix"])
            fine = cube.sel(bands=high)
            unusable = (composite == 0) | composite.isnull() | (now == 0) | now.isnull()
            parts.append(xr.where(unusable, fine, fine + now - composite))
        fused = xr.concat(parts, dim="bands").assign_coords(bands=list(context["hr"]))
        if context["ndvi"]:
            nir, red = fused.sel(bands="B8A"), fused.sel(bands="B04")
            fused = ((nir - red) / (nir + red)).expand_dims(bands=["ndvi"])
        return fused.transpose(*cube.dims)
    """
)

GAUSSIAN_5X5 = [
    [0.00296902, 0.01330621, 0.02193823, 0.01330621, 0.00296902],
    [0.01330621, 0.0596343, 0.09832033, 0.0596343, 0.01330621],
    [0.02193823, 0.09832033, 0.16210282, 0.09832033, 0.02193823],
    [0.01330621, 0.0596343, 0.09832033, 0.0596343, 0.01330621],
    [0.00296902, 0.01330621, 0.02193823, 0.01330621, 0.00296902],
]


def _p(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def _n(name: str) -> dict[str, str]:
    return {"from_node": name}


def _node(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments}


def _callback(nodes: dict[str, Any]) -> dict[str, Any]:
    last = list(nodes)[-1]
    return {"process_graph": {k: {**v, "result": k == last} for k, v in nodes.items()}}


def _udf(code: str) -> dict[str, Any]:
    arguments = {"data": _p("data"), "udf": code, "runtime": "Python", "context": _p("context")}
    return _callback({"run": _node("run_udf", **arguments)})


def _distance_score(flags: str) -> dict[str, Any]:
    """Nodes: distance to cloud per day (UDF in 332 px windows), then the 0–1 ramp."""
    return {
        f"{flags}_distance": _node(
            "apply_neighborhood",
            data=_n(flags),
            process=_udf(DISTANCE_UDF),
            size=[
                {"dimension": "t", "value": "P1D"},
                {"dimension": "x", "value": 332, "unit": "px"},
                {"dimension": "y", "value": 332, "unit": "px"},
            ],
            overlap=[
                {"dimension": "x", "value": 166, "unit": "px"},
                {"dimension": "y", "value": 166, "unit": "px"},
            ],
        ),
        f"{flags}_ramp": _node(
            "apply",
            data=_n(f"{flags}_distance"),
            process=_callback(
                {
                    "minus": _node("subtract", x=_p("x"), y=1),
                    "scaled": _node("divide", x=_n("minus"), y=100 / 6),
                    "clipped": _node("clip", x=_n("scaled"), min=0, max=1),
                }
            ),
        ),
        f"{flags}_score": _node(
            "add_dimension",
            data=_n(f"{flags}_ramp"),
            name="bands",
            label="distance_score",
            type="bands",
        ),
    }


def _dates(sigma: Any, **extra: Any) -> dict[str, Any]:
    return {
        "input": _p("temporal_extent"),
        "target": _p("temporal_extent_target"),
        "interval": _p("interval_days"),
        "sigma": sigma,
        **extra,
    }


def efast_udp_graph() -> dict[str, Any]:
    """The process graph (nodes) of the EFAST-shaped UDP."""
    extent = {"spatial_extent": _p("spatial_extent"), "temporal_extent": _p("temporal_extent")}
    s2_cloud = _callback(
        {
            "scl": _node("array_element", data=_p("data"), index=0),
            "nodata": _node("eq", x=_n("scl"), y=0),
            "shadow": _node("eq", x=_n("scl"), y=3),
            "cloud": _node("gt", x=_n("scl"), y=7),
            "either": _node("or", x=_n("nodata"), y=_n("shadow")),
            "any": _node("or", x=_n("either"), y=_n("cloud")),
            "number": _node("multiply", x=_n("any"), y=1.0),
        }
    )
    nodes: dict[str, Any] = {
        "s2_dn": _node("load_collection", id="SENTINEL2_L2A", bands=_p("s2_data_bands"), **extent),
        "s2": _node(
            "apply",
            data=_n("s2_dn"),
            process=_callback({"r": _node("multiply", x=_p("x"), y=0.0001)}),
        ),
        "scl": _node("load_collection", id="SENTINEL2_L2A", bands=["SCL"], **extent),
        "s2_cloud": _node("reduce_dimension", data=_n("scl"), dimension="bands", reducer=s2_cloud),
        "s2_clear": _node("mask", data=_n("s2"), mask=_n("s2_cloud")),
        "cloud_300m": _node(
            "resample_spatial",
            data=_n("s2_cloud"),
            resolution=300,
            method="average",
            align="upper-left",
            projection=None,
        ),
        "s2_flags": _node(
            "apply",
            data=_n("cloud_300m"),
            process=_callback({"c": _node("gte", x=_p("x"), y=0.05)}),
        ),
        **_distance_score("s2_flags"),
        "s2_with_score": _node("merge_cubes", cube1=_n("s2_clear"), cube2=_n("s2_flags_score")),
        "s2_dates": _node("dimension_labels", data=_n("s2"), dimension="t"),
        "s3_all": _node(
            "load_collection",
            id="SENTINEL3_SYN_L2_SYN",
            bands=_p("s3_data_bands"),
            featureflags={
                "reprojection_type": "binning",
                "super_sampling": 2,
                "flag_band": "CLOUD_flags",
                "flag_bitmask": 255,
            },
            **extent,
        ),
        "s3": _node(
            "filter_labels",
            data=_n("s3_all"),
            dimension="bands",
            condition=_callback({"n": _node("neq", x=_p("value"), y="CLOUD_flags")}),
        ),
        "s3_flags": _node(
            "reduce_dimension",
            data=_n("s3"),
            dimension="bands",
            reducer=_callback(
                {
                    "first": _node("array_element", data=_p("data"), index=0),
                    "missing": _node("is_nodata", x=_n("first")),
                }
            ),
        ),
        **_distance_score("s3_flags"),
        "s3_with_score": _node("merge_cubes", cube1=_n("s3"), cube2=_n("s3_flags_score")),
        "s3_composite": _node(
            "apply_dimension",
            data=_n("s3_with_score"),
            dimension="t",
            process=_udf(COMPOSITE_UDF),
            context=_dates(10),
        ),
        "s3_smooth": _node(
            "apply_kernel",
            data=_n("s3_composite"),
            kernel=GAUSSIAN_5X5,
            factor=1.0,
            border=0,
            replace_invalid=0,
        ),
        "s3_at_s2": _node(
            "apply_dimension",
            data=_n("s3_smooth"),
            dimension="t",
            process=_udf(INTERPOLATE_UDF),
            context=_n("s2_dates"),
        ),
        "inputs": _node("merge_cubes", cube1=_n("s2_with_score"), cube2=_n("s3_at_s2")),
        "composites": _node(
            "apply_dimension",
            data=_n("inputs"),
            dimension="t",
            process=_udf(COMPOSITE_UDF),
            context=_dates(_p("temporal_score_stddev")),
        ),
        "s3_now": _node(
            "apply_dimension",
            data=_n("s3_smooth"),
            dimension="t",
            process=_udf(INTERPOLATE_UDF),
            context=_dates(None, suffix="_now"),
        ),
        "all": _node("merge_cubes", cube1=_n("composites"), cube2=_n("s3_now")),
        "fused": _node(
            "apply_dimension",
            data=_n("all"),
            dimension="bands",
            process=_udf(FUSE_UDF),
            context={
                "hr": _p("s2_data_bands"),
                "lr": _p("s3_data_bands"),
                "suffix": "_now",
                "ndvi": _p("output_ndvi"),
            },
        ),
    }
    nodes["fused"]["result"] = True
    return nodes


_INTERVAL = {"type": "array", "subtype": "temporal-interval"}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def efast_udp(process_id: str = "efast_udp") -> dict[str, Any]:
    """The whole UDP document, as ``save_user_defined_process`` stores it."""
    return {
        "id": process_id,
        "summary": "EFAST-shaped Sentinel-2/Sentinel-3 fusion (test UDP)",
        "process_graph": efast_udp_graph(),
        "parameters": [
            {"name": "temporal_extent", "schema": _INTERVAL},
            {"name": "temporal_extent_target", "schema": _INTERVAL},
            {"name": "interval_days", "schema": {"type": "integer"}},
            {"name": "spatial_extent", "schema": {"type": "object"}},
            {"name": "temporal_score_stddev", "schema": {"type": "number"}, "default": 20},
            {"name": "s2_data_bands", "schema": _STRINGS, "default": ["B02", "B03", "B04", "B8A"]},
            {
                "name": "s3_data_bands",
                "schema": _STRINGS,
                "default": [
                    "Syn_Oa04_reflectance",
                    "Syn_Oa06_reflectance",
                    "Syn_Oa08_reflectance",
                    "Syn_Oa17_reflectance",
                ],
            },
            {"name": "output_ndvi", "schema": {"type": "boolean"}, "default": False},
        ],
    }
