"""The constructs of the published EFAST process graph, each with values checked.

UDFs here are written against the official ``openeo.udf`` API the way the published
graph writes them (``XarrayDataCube`` or ``xarray.DataArray`` by annotation, ``context``
from parameters and from a ``dimension_labels`` node).
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
import scipy.ndimage
import xarray as xr
from odc.geo.xr import assign_crs

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.neighborhood import apply_neighborhood

from .test_core_processes import REGISTRY

ENV = EvalContext(REGISTRY, EngineLimits(udf_enabled=True))

DISTANCE_UDF = textwrap.dedent(
    """
    from scipy.ndimage import distance_transform_edt
    import numpy as np
    import xarray as xr
    from openeo.udf import XarrayDataCube

    def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
        array = cube.get_array()
        if not array.any():
            return XarrayDataCube(xr.DataArray(np.full_like(array, np.inf), dims=["t", "y", "x"]))
        distance = distance_transform_edt(np.logical_not(array))
        return XarrayDataCube(xr.DataArray(distance, dims=["t", "y", "x"]))
    """
)

INTERPOLATE_UDF = textwrap.dedent(
    """
    import pandas as pd
    import xarray as xr
    import openeo

    def apply_datacube(cube: xr.DataArray, context) -> xr.DataArray:
        target = pd.to_datetime(context["t_target"] if isinstance(context, dict) else context)
        if getattr(target, "tz", None) is not None:
            target = target.tz_localize(None)
        out = cube.interp(t=target)
        suffix = context.get("suffix", "") if isinstance(context, dict) else "_interpolated"
        out = out.assign_coords(bands=[f"{b}{suffix}" for b in out.coords["bands"].values])
        return out.transpose("t", "bands", "y", "x")
    """
)

NDVI_UDF = textwrap.dedent(
    """
    import numpy as np
    import xarray as xr

    def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
        nir, red = cube.sel(bands=context["nir"]), cube.sel(bands=context["red"])
        ndvi = (nir - red) / (nir + red)
        return ndvi.expand_dims({"bands": ["ndvi"]}, axis=cube.dims.index("bands"))
    """
)


def _run(nodes: dict[str, Any], **cubes: Any) -> Any:
    graph = {"process_graph": nodes, "parameters": [{"name": n} for n in cubes]}
    return evaluate(graph, ENV, cubes)


def _cube(times: list[str], bands: list[str], ny: int = 5, nx: int = 6) -> xr.DataArray:
    rng = np.random.default_rng(3)
    values = rng.uniform(0.05, 0.6, (len(times), len(bands), ny, nx))
    cube = xr.DataArray(
        values,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": pd.to_datetime(times).to_numpy(),
            "bands": bands,
            "y": 5080255.0 - 5 - 10 * np.arange(ny),
            "x": 465181.0 + 5 + 10 * np.arange(nx),
        },
    )
    return assign_crs(cube, "EPSG:32633")


def _udf_node(code: str, context: Any) -> dict[str, Any]:
    return {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_parameter": "data"},
                    "udf": code,
                    "runtime": "Python",
                    "context": context,
                },
                "result": True,
            }
        }
    }


def test_apply_neighborhood_p1d_hands_over_the_labels_of_each_day() -> None:
    times = ["2023-09-01T10:00", "2023-09-01T11:00", "2023-09-03T10:00", "2023-09-07T10:00"]
    cube = _cube(times, ["B04"]).isel(bands=0, drop=True)
    seen: list[list[str]] = []

    def double(data: xr.DataArray, context: Any) -> xr.DataArray:
        seen.append([str(t)[:13] for t in data.t.values])
        return data * 2

    size = [{"dimension": "t", "value": "P1D"}, {"dimension": "x", "value": 332, "unit": "px"}]
    out = apply_neighborhood(data=cube, process=double, size=size)  # type: ignore[arg-type]
    assert seen == [["2023-09-01T10", "2023-09-01T11"], ["2023-09-03T10"], ["2023-09-07T10"]]
    np.testing.assert_allclose(out.values, 2 * cube.values)
    assert (out.t.values == cube.t.values).all()


def test_apply_neighborhood_pads_a_boolean_cube_with_false() -> None:
    flags = xr.DataArray(np.ones((1, 6, 6), dtype=bool), dims=("t", "y", "x"))
    padded: list[np.ndarray] = []

    def keep(data: xr.DataArray, context: Any) -> xr.DataArray:
        padded.append(data.values)
        return data

    size = [{"dimension": "x", "value": 3, "unit": "px"}, {"dimension": "y", "value": 3}]
    overlap = [{"dimension": "x", "value": 2, "unit": "px"}, {"dimension": "y", "value": 2}]
    out = apply_neighborhood(data=flags, process=keep, size=size, overlap=overlap)  # type: ignore[arg-type]
    assert out.dtype == bool and out.values.all()
    first = padded[0][0]
    assert first.shape == (7, 7) and first.dtype == bool
    assert not first[:2].any() and not first[:, :2].any() and first[2:, 2:].all()


def test_apply_neighborhood_runs_the_published_distance_udf_per_day() -> None:
    rng = np.random.default_rng(11)
    cloudy = rng.uniform(size=(2, 18, 21)) > 0.93
    cloudy[1] = False  # a clear day: the UDF answers infinity everywhere
    cube = _cube(["2023-09-01", "2023-09-02"], ["m"], 18, 21).isel(bands=0, drop=True)
    cube = cube.copy(data=cloudy)
    nodes = {
        "n": {
            "process_id": "apply_neighborhood",
            "arguments": {
                "data": {"from_parameter": "c"},
                "process": _udf_node(DISTANCE_UDF, {}),
                "size": [
                    {"dimension": "t", "value": "P1D"},
                    {"dimension": "x", "value": 332, "unit": "px"},
                    {"dimension": "y", "value": 332, "unit": "px"},
                ],
                "overlap": [
                    {"dimension": "x", "value": 166, "unit": "px"},
                    {"dimension": "y", "value": 166, "unit": "px"},
                ],
            },
            "result": True,
        }
    }
    out = _run(nodes, c=cube)
    np.testing.assert_allclose(out.values[0], scipy.ndimage.distance_transform_edt(~cloudy[0]))
    assert np.isinf(out.values[1]).all()
    # The UDF returned bare arrays: the labels and the grid are the cube's.
    xr.testing.assert_equal(out.x, cube.x)
    assert (out.t.values == cube.t.values).all() and out.odc.crs.epsg == 32633


def test_apply_dimension_t_udf_returns_new_dates_from_dimension_labels() -> None:
    lr = _cube(["2023-09-01", "2023-09-06", "2023-09-11"], ["SDR_Oa08", "SDR_Oa17"])
    s2 = _cube(["2023-09-02T11:00:00", "2023-09-09T11:00:00"], ["B04"])
    nodes = {
        "labels": {
            "process_id": "dimension_labels",
            "arguments": {"data": {"from_parameter": "s2"}, "dimension": "t"},
        },
        "a": {
            "process_id": "apply_dimension",
            "arguments": {
                "data": {"from_parameter": "lr"},
                "dimension": "t",
                "process": _udf_node(INTERPOLATE_UDF, {"from_parameter": "context"}),
                "context": {"from_node": "labels"},
            },
            "result": True,
        },
    }
    out = _run(nodes, lr=lr, s2=s2)
    assert list(out.bands.values) == ["SDR_Oa08_interpolated", "SDR_Oa17_interpolated"]
    assert (out.t.values == s2.t.values).all() and out.dims == ("t", "bands", "y", "x")
    # Linear in time: 2023-09-02 11:00 is 1.458 days after 09-01, of a 5-day step.
    share = (1 + 11 / 24) / 5
    expected = lr.values[0] + share * (lr.values[1] - lr.values[0])
    np.testing.assert_allclose(out.values[0], expected)


def test_apply_dimension_t_udf_with_context_from_parameters() -> None:
    lr = _cube(["2023-09-01", "2023-09-06", "2023-09-11"], ["SDR_Oa08"])
    context = {"t_target": ["2023-09-03", "2023-09-08", "2023-09-10"], "suffix": "_i"}
    nodes = {
        "a": {
            "process_id": "apply_dimension",
            "arguments": {
                "data": {"from_parameter": "lr"},
                "dimension": "t",
                "process": _udf_node(INTERPOLATE_UDF, {"from_parameter": "context"}),
                "context": context,
            },
            "result": True,
        },
    }
    out = _run(nodes, lr=lr)
    assert [str(t)[:10] for t in out.t.values] == context["t_target"]
    assert list(out.bands.values) == ["SDR_Oa08_i"]
    np.testing.assert_allclose(out.values[2], lr.values[1] + 0.8 * (lr.values[2] - lr.values[1]))


def test_apply_dimension_bands_udf_returns_a_new_band_name() -> None:
    cube = _cube(["2023-09-01", "2023-09-06"], ["B04", "B8A", "distance_score"])
    nodes = {
        "a": {
            "process_id": "apply_dimension",
            "arguments": {
                "data": {"from_parameter": "c"},
                "dimension": "bands",
                "process": _udf_node(NDVI_UDF, {"from_parameter": "context"}),
                "context": {"nir": "B8A", "red": "B04"},
            },
            "result": True,
        },
    }
    out = _run(nodes, c=cube)
    assert list(out.bands.values) == ["ndvi"] and out.sizes["t"] == 2
    nir, red = cube.sel(bands="B8A").values, cube.sel(bands="B04").values
    np.testing.assert_allclose(out.sel(bands="ndvi").values, (nir - red) / (nir + red))
