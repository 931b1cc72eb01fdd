"""A load without spatial extent takes its extent from the geometries that use it.

The CDSE notebooks call ``load_collection`` without ``spatial_extent`` (the client sends
``null``) and then ``aggregate_spatial``/``filter_spatial``/``mask_polygon``; the demo
world refuses an unbounded load, so pushdown must supply the geometries' bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.errors import ProcessParameterInvalid

from .test_core_processes import MAY, REGISTRY, Recorder, callback, node, ref

SQUARE = [[11.0, 46.0], [11.01, 46.0], [11.01, 46.008], [11.0, 46.008], [11.0, 46.0]]
FC = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        }
    ],
}
BOX = {"west": 10.99, "south": 45.99, "east": 11.02, "north": 46.02}


def unbounded_load(extent: Any = None) -> dict[str, Any]:
    return node(
        "load_collection", id="SENTINEL2_L2A", spatial_extent=extent, temporal_extent=MAY,
        bands=["B04"],
    )  # fmt: skip


def mean_over(geometries: Any, extent: Any = None) -> dict[str, Any]:
    return {
        "l": unbounded_load(extent),
        "a": node("aggregate_spatial", True, data=ref("l"), geometries=geometries,
                  reducer=callback("mean", data={"from_parameter": "data"})),
    }  # fmt: skip


def run(nodes: dict[str, Any], **kwargs: Any) -> tuple[Any, Recorder]:
    recorder = Recorder()
    env = EvalContext(REGISTRY, EngineLimits(), load_collection=recorder, **kwargs.pop("env", {}))
    return evaluate({"process_graph": nodes}, env, **kwargs), recorder


def assert_near_square(bbox: tuple[float, ...]) -> None:
    np.testing.assert_allclose(bbox, (11.0, 46.0, 11.01, 46.008), atol=3e-4)


def test_aggregate_spatial_with_a_reducer_callback_bounds_the_load() -> None:
    out, recorder = run(mean_over(FC))
    assert_near_square(recorder.requests[0].bbox)  # type: ignore[arg-type]
    bounded, _ = run(mean_over(FC, BOX))
    assert out.sizes["t"] > 0
    np.testing.assert_allclose(out.values, bounded.values, rtol=1e-6)
    assert np.isfinite(out.values).all()


def test_geometries_from_a_parameter_with_a_literal_value() -> None:
    nodes = mean_over({"from_parameter": "polygons"})
    graph = {"process_graph": nodes, "parameters": [{"name": "polygons", "schema": {}}]}
    recorder = Recorder()
    out = evaluate(
        graph, EvalContext(REGISTRY, EngineLimits(), load_collection=recorder), {"polygons": FC}
    )
    assert_near_square(recorder.requests[0].bbox)  # type: ignore[arg-type]
    assert np.isfinite(out.values).all()


def test_aggregate_spatial_inside_a_user_defined_process() -> None:
    udp = {
        "id": "plume_mean",
        "parameters": [
            {"name": "polygons", "schema": {}},
            {"name": "extent", "schema": {}, "optional": True, "default": None},
        ],
        "process_graph": mean_over({"from_parameter": "polygons"}, {"from_parameter": "extent"}),
    }
    nodes = {"u": node("plume_mean", True, polygons=FC)}
    out, recorder = run(nodes, env={"udp": {"plume_mean": udp}.get})
    assert_near_square(recorder.requests[0].bbox)  # type: ignore[arg-type]
    assert np.isfinite(out.values).all()


def test_filter_spatial_bounds_the_load() -> None:
    nodes = {
        "l": unbounded_load(),
        "f": node("filter_spatial", True, data=ref("l"), geometries=FC),
    }
    out, recorder = run(nodes)
    assert_near_square(recorder.requests[0].bbox)  # type: ignore[arg-type]
    assert np.isfinite(out.values).any()


def test_mask_polygon_fills_in_a_missing_extent_only() -> None:
    nodes = {
        "l": unbounded_load(),
        "m": node("mask_polygon", True, data=ref("l"), mask=FC),
    }
    _, recorder = run(nodes)
    assert_near_square(recorder.requests[0].bbox)  # type: ignore[arg-type]
    # With an extent of its own, the masked cube keeps that extent (nulls outside).
    nodes["l"] = unbounded_load(BOX)
    out, recorder = run(nodes)
    assert recorder.requests[0].bbox == tuple(BOX.values())
    assert np.isnan(out.values).any() and np.isfinite(out.values).any()


def test_mask_polygon_inside_true_cannot_bound_the_load() -> None:
    nodes = {
        "l": unbounded_load(),
        "m": node("mask_polygon", True, data=ref("l"), mask=FC, inside=True),
    }
    with pytest.raises(ProcessParameterInvalid, match="give a bounding box"):
        run(nodes)
