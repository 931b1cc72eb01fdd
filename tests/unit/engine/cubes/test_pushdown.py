"""Pushdown narrows what load_collection reads, and never changes a result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import eostation.engine.evaluate as evaluate_module
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.graph import parse
from eostation.engine.limits import EngineLimits
from eostation.engine.pushdown import Narrowing, push_down, register_rule

from .test_core_processes import AOI, MAY, REGISTRY, Recorder, callback, node, ref

LIMITS = EngineLimits()


def lazy_load(**arguments: Any) -> dict[str, Any]:
    base = {"id": "SENTINEL2_L2A", "spatial_extent": AOI, "temporal_extent": MAY, "bands": None}
    return node("load_collection", **{**base, **arguments})


def both_ways(nodes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Recorder]:
    """The result with pushdown (and its recorded requests) and without it."""
    pushed = Recorder()
    with_push = evaluate(
        {"process_graph": nodes}, EvalContext(REGISTRY, LIMITS, load_collection=pushed)
    )
    with monkeypatch.context() as patch:
        patch.setattr(evaluate_module, "push_down", lambda graph, scope=None: graph)
        plain = evaluate(
            {"process_graph": nodes}, EvalContext(REGISTRY, LIMITS, load_collection=Recorder())
        )
    return with_push, plain, pushed


def test_filters_after_load_narrow_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = {
        "l": lazy_load(),
        "b": node("filter_bands", data=ref("l"), bands=["nir", "B04"]),
        "t": node("filter_temporal", data=ref("b"), extent=["2022-05-10", "2022-05-20"]),
        "r": node("reduce_dimension", True, data=ref("t"), dimension="t",
                  reducer=callback("max", data={"from_parameter": "data"})),
    }  # fmt: skip
    out, plain, recorder = both_ways(nodes, monkeypatch)
    [request] = recorder.requests
    assert request.bands == ["nir", "B04"]
    assert request.temporal == ("2022-05-10", "2022-05-20")
    assert list(out["bands"].values) == ["B08", "B04"]
    xr.testing.assert_equal(out.compute(), plain.compute())


def test_bbox_in_the_load_crs_is_intersected(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = {"west": 11.005, "south": 46.005, "east": 11.01, "north": 46.01}
    nodes = {
        "l": lazy_load(bands=["B02"]),
        "x": node("filter_bbox", True, data=ref("l"), extent=inner),
    }
    out, plain, recorder = both_ways(nodes, monkeypatch)
    assert recorder.requests[0].bbox == (11.005, 46.005, 11.01, 46.01)
    np.testing.assert_array_equal(out.values, plain.values)
    assert out.odc.geobox == plain.odc.geobox


def test_several_consumers_get_the_union(monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = {
        "l": lazy_load(),
        "red": node("filter_bands", data=ref("l"), bands=["B04"]),
        "nir": node("filter_bands", data=ref("l"), bands=["B08"]),
        "m": node("merge_cubes", True, cube1=ref("red"), cube2=ref("nir")),
    }
    out, plain, recorder = both_ways(nodes, monkeypatch)
    assert recorder.requests[0].bands == ["B04", "B08"]
    xr.testing.assert_equal(out.compute(), plain.compute())


def test_an_unfiltered_consumer_blocks_pushdown() -> None:
    nodes = {
        "l": lazy_load(),
        "b": node("filter_bands", data=ref("l"), bands=["B04"]),
        "r": node("reduce_dimension", data=ref("l"), dimension="bands",
                  reducer=callback("mean", data={"from_parameter": "data"})),
        "m": node("merge_cubes", True, cube1=ref("b"), cube2=ref("r"),
                  overlap_resolver=callback("max", data=[{"from_parameter": "x"},
                                                         {"from_parameter": "y"}])),
    }  # fmt: skip
    graph = push_down(parse({"process_graph": nodes}))
    assert graph.nodes["l"].arguments["bands"] is None


def test_parameters_and_results_block_pushdown() -> None:
    nodes = {
        "l": {**lazy_load(), "result": True},
        "b": node("filter_bands", data=ref("l"), bands=["B04"]),
    }
    assert push_down(parse(nodes)).nodes["l"].arguments["bands"] is None
    nodes = {
        "l": lazy_load(),
        "t": node("filter_temporal", True, data=ref("l"), extent={"from_parameter": "when"}),
    }
    assert push_down(parse(nodes)).nodes["l"].arguments["temporal_extent"] == MAY


def test_registered_rule_for_a_non_pass_through_process() -> None:
    @register_rule("test_only_bbox_user", passes_through=False)
    def _rule(arguments: Any) -> Narrowing:
        return Narrowing(bbox=(11.001, 46.001, 11.002, 46.002))

    nodes = {
        "l": lazy_load(),
        "u": node("test_only_bbox_user", data=ref("l")),
        "s": node("save_result", True, data=ref("u"), format="JSON"),
    }
    narrowed = push_down(parse(nodes)).nodes["l"].arguments["spatial_extent"]
    assert narrowed == {"west": 11.001, "south": 46.001, "east": 11.002, "north": 46.002}
