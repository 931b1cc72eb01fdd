"""The evaluator: references, laziness, callbacks on cubes, user-defined and remote processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from eostation.engine import EvalContext, LabeledArray, default_registry, process
from eostation.engine.context import Cancelled
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import ProcessRegistry
from eostation.engine.validation import validate
from eostation.errors import (
    OpenEOError,
    OutboundRefused,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)
from eostation.outbound import OutboundPolicy
from tests import loopback_http

LIMITS = EngineLimits()


@pytest.fixture
def env() -> EvalContext:
    return EvalContext(default_registry(), LIMITS)


def _graph(**nodes: dict[str, Any]) -> dict[str, Any]:
    return {"process_graph": nodes}


def test_from_node_and_parameters(env: EvalContext) -> None:
    graph = {
        "parameters": [{"name": "k", "description": "factor", "schema": {}, "default": 10}],
        "process_graph": {
            "a": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
            "m": {
                "process_id": "multiply",
                "arguments": {"x": {"from_node": "a"}, "y": {"from_parameter": "k"}},
                "result": True,
            },
        },
    }
    assert evaluate(graph, env) == 30
    assert evaluate(graph, env, {"k": 2}) == 6


def test_only_needed_nodes_run_once(env: EvalContext) -> None:
    calls: list[str] = []
    registry = default_registry()

    @process("_probe")
    def probe(x: Any) -> Any:
        """Record a call.

        Args:
            x: Passed through.
        """
        calls.append(x)
        return x

    from eostation.engine.registry import _DEFINITIONS

    registry.add(_DEFINITIONS.pop("_probe"))
    graph = _graph(
        a={"process_id": "_probe", "arguments": {"x": "a"}},
        unused={"process_id": "_probe", "arguments": {"x": "unused"}},
        b={
            "process_id": "add",
            "arguments": {"x": {"from_node": "c"}, "y": {"from_node": "c"}},
            "result": True,
        },
        c={"process_id": "text_concat", "arguments": {"data": []}},
    )
    graph["process_graph"]["c"] = {
        "process_id": "array_element",
        "arguments": {"data": [{"from_node": "a"}, 5], "index": 1},
    }
    assert evaluate(graph, EvalContext(registry, LIMITS)) == 10
    assert calls == ["a"]


def test_reducer_is_called_once_with_the_whole_cube(env: EvalContext) -> None:
    cube = xr.DataArray(
        da.from_array(np.arange(24, dtype=float).reshape(4, 3, 2), chunks=(2, 3, 2)),
        dims=["t", "y", "x"],
    )
    cube[1, 0, 0] = np.nan
    graph = _graph(
        mean={"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
        sd={"process_id": "sd", "arguments": {"data": {"from_parameter": "data"}}},
        out={
            "process_id": "divide",
            "arguments": {"x": {"from_node": "sd"}, "y": {"from_node": "mean"}},
            "result": True,
        },
    )
    from eostation.engine.evaluate import ChildGraph, _Session
    from eostation.engine.graph import parse

    reducer = ChildGraph(parse(graph), {}, _Session(env))
    out = reducer(data=LabeledArray(cube, "t"), context=None)
    assert isinstance(out, xr.DataArray) and out.dims == ("y", "x")
    assert out.chunks is not None  # still lazy
    values = cube.values
    expected = np.nanstd(values, axis=0, ddof=1) / np.nanmean(values, axis=0)
    np.testing.assert_allclose(out.values, expected)
    assert reducer.parameters == {"data"}


def test_array_element_and_comparison_on_a_cube_view(env: EvalContext) -> None:
    cube = xr.DataArray(
        np.array([[1.0, 5.0], [3.0, np.nan]]), dims=["bands", "x"], coords={"bands": ["B04", "B08"]}
    )
    view = LabeledArray(cube, "bands")
    graph = _graph(
        red={
            "process_id": "array_element",
            "arguments": {"data": {"from_parameter": "data"}, "label": "B04"},
        },
        nir={
            "process_id": "array_element",
            "arguments": {"data": {"from_parameter": "data"}, "index": 1},
        },
        nd={
            "process_id": "normalized_difference",
            "arguments": {"x": {"from_node": "nir"}, "y": {"from_node": "red"}},
        },
        gt={"process_id": "gt", "arguments": {"x": {"from_node": "nd"}, "y": 0}, "result": True},
    )
    out = evaluate(graph, env, {"data": view})
    assert out.dims == ("x",)
    np.testing.assert_array_equal(out.values, [1.0, np.nan])  # nullable boolean: NaN stays null


def test_validate_reports_every_problem(env: EvalContext) -> None:
    graph = _graph(
        a={"process_id": "add", "arguments": {"x": 1, "z": 2}},
        b={"process_id": "nope", "arguments": {}},
        c={"process_id": "absolute", "arguments": {"x": "text"}},
        d={
            "process_id": "sum",
            "arguments": {"data": {"from_parameter": "missing"}},
            "result": True,
        },
    )
    problems = validate(graph, env.registry)
    kinds = sorted(type(p).__name__ for p in problems)
    assert kinds == [
        "ProcessGraphInvalid",
        "ProcessParameterInvalid",
        "ProcessParameterRequired",
        "ProcessParameterUnsupported",
        "ProcessUnsupported",
    ]
    with pytest.raises(OpenEOError):
        evaluate(graph, env)


@pytest.mark.parametrize(
    ("nodes", "error"),
    [
        ({"a": {"process_id": "pi", "arguments": {}}}, ProcessGraphInvalid),  # no result
        (
            {
                "a": {
                    "process_id": "absolute",
                    "arguments": {"x": {"from_node": "b"}},
                    "result": True,
                },
                "b": {"process_id": "absolute", "arguments": {"x": {"from_node": "a"}}},
            },
            ProcessGraphInvalid,
        ),
        (
            {
                "a": {
                    "process_id": "absolute",
                    "arguments": {"x": {"from_node": "zz"}},
                    "result": True,
                }
            },
            ProcessGraphInvalid,
        ),
        (
            {"a": {"process_id": "absolute", "arguments": {}, "result": True}},
            ProcessParameterRequired,
        ),
        (
            {"a": {"process_id": "pi", "arguments": {"x": 1}, "result": True}},
            ProcessParameterUnsupported,
        ),
        (
            {"a": {"process_id": "absolute", "arguments": {"x": [1]}, "result": True}},
            ProcessParameterInvalid,
        ),
    ],
)
def test_invalid_graphs(env: EvalContext, nodes: dict[str, Any], error: type[OpenEOError]) -> None:
    with pytest.raises(error):
        evaluate({"process_graph": nodes}, env)


def test_errors_name_the_node(env: EvalContext) -> None:
    graph = _graph(q={"process_id": "quantiles", "arguments": {"data": [1, 2]}, "result": True})
    with pytest.raises(ProcessParameterInvalid, match=r"node 'q', process 'quantiles'") as info:
        evaluate(graph, env)
    assert info.value.params["exception"] == "QuantilesParameterMissing"


def test_callback_sees_outer_parameters(env: EvalContext) -> None:
    graph = _graph(
        f={
            "process_id": "array_apply",
            "arguments": {
                "data": [1, 2],
                "process": {
                    "process_graph": {
                        "m": {
                            "process_id": "multiply",
                            "arguments": {
                                "x": {"from_parameter": "x"},
                                "y": {"from_parameter": "k"},
                            },
                            "result": True,
                        }
                    }
                },
            },
            "result": True,
        }
    )
    graph["parameters"] = [{"name": "k", "description": "", "schema": {}}]
    assert evaluate(graph, env, {"k": 3}) == [3, 6]


UDP_SCALE = {
    "id": "scale",
    "parameters": [
        {"name": "v", "description": "value", "schema": {}},
        {"name": "f", "description": "factor", "schema": {}, "optional": True, "default": 2},
    ],
    "process_graph": {
        "m": {
            "process_id": "multiply",
            "arguments": {"x": {"from_parameter": "v"}, "y": {"from_parameter": "f"}},
            "result": True,
        }
    },
}


def test_user_defined_process_with_defaults() -> None:
    env = EvalContext(default_registry(), LIMITS, udp={"scale": UDP_SCALE}.get)
    graph = _graph(s={"process_id": "scale", "arguments": {"v": 4}, "result": True})
    assert evaluate(graph, env) == 8
    graph = _graph(
        s={
            "process_id": "scale",
            "namespace": "user",
            "arguments": {"v": 4, "f": 3},
            "result": True,
        }
    )
    assert evaluate(graph, env) == 12
    with pytest.raises(ProcessParameterUnsupported):
        evaluate(
            _graph(s={"process_id": "scale", "arguments": {"v": 1, "g": 1}, "result": True}), env
        )


def test_recursive_user_defined_process_is_refused() -> None:
    loop = {
        "id": "loop",
        "parameters": [],
        "process_graph": {"l": {"process_id": "loop", "arguments": {}, "result": True}},
    }
    env = EvalContext(default_registry(), LIMITS, udp={"loop": loop}.get)
    with pytest.raises(ProcessGraphInvalid, match="recursively"):
        evaluate(_graph(s={"process_id": "loop", "arguments": {}, "result": True}), env)


# A user-defined ``add`` that adds 100 more, calling the predefined ``add`` inside.
UDP_ADD = {
    "id": "add",
    "parameters": [
        {"name": "x", "description": "x", "schema": {}},
        {"name": "y", "description": "y", "schema": {}},
    ],
    "process_graph": {
        "a": {"process_id": "add", "arguments": {"x": {"from_parameter": "x"}, "y": 100}},
        "b": {
            "process_id": "add",
            "arguments": {"x": {"from_node": "a"}, "y": {"from_parameter": "y"}},
            "result": True,
        },
    },
}


@pytest.mark.parametrize(("namespace", "expected"), [(None, 103), ("backend", 3), ("user", 103)])
def test_a_null_namespace_prefers_the_users_process(namespace: str | None, expected: int) -> None:
    """API 1.2: a null namespace checks both and prefers the user-defined process; inside it,
    the same id is the predefined process again (no recursion)."""
    env = EvalContext(default_registry(), LIMITS, udp={"add": UDP_ADD}.get)
    node = {"process_id": "add", "namespace": namespace, "arguments": {"x": 1, "y": 2}}
    graph = _graph(s={**node, "result": True})
    assert validate(graph, env.registry, udp=env.udp) == []
    assert evaluate(graph, env) == expected


def test_a_users_process_is_validated_against_its_own_parameters() -> None:
    env = EvalContext(default_registry(), LIMITS, udp={"scale": UDP_SCALE, "add": UDP_SCALE}.get)
    graph = _graph(s={"process_id": "add", "arguments": {"v": 2}, "result": True})
    assert validate(graph, env.registry, udp=env.udp) == []
    assert evaluate(graph, env) == 4


def test_unknown_process(env: EvalContext) -> None:
    with pytest.raises(ProcessUnsupported):
        evaluate(
            _graph(s={"process_id": "nope", "arguments": {}, "result": True}), env, check=False
        )


@pytest.fixture
def served() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(UDP_SCALE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with loopback_http.serving(HTTPServer(("127.0.0.1", 0), Handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/scale.json"


def test_remote_namespace(served: str) -> None:
    graph = _graph(
        s={"process_id": "scale", "namespace": served, "arguments": {"v": 5}, "result": True}
    )
    loopback = replace(LIMITS, outbound=OutboundPolicy.parse("127.0.0.0/8"))
    assert evaluate(graph, EvalContext(default_registry(), loopback)) == 10


def test_a_remote_namespace_on_an_internal_address_is_refused(served: str) -> None:
    graph = _graph(
        s={"process_id": "scale", "namespace": served, "arguments": {"v": 5}, "result": True}
    )
    with pytest.raises(OutboundRefused, match=r"internal address.*EOSTATION_OUTBOUND_ALLOW"):
        evaluate(graph, EvalContext(default_registry(), LIMITS))


def test_inspect_logs_without_computing() -> None:
    records: list[tuple[str, str, Any]] = []
    env = EvalContext(default_registry(), LIMITS, log=lambda *r: records.append(r))
    graph = _graph(
        i={
            "process_id": "inspect",
            "arguments": {"data": [1, 2], "message": "hi", "level": "debug"},
            "result": True,
        }
    )
    assert evaluate(graph, env) == [1, 2]
    assert records == [("debug", "hi", {"code": "User", "data": [1, 2]})]


def test_cancellation_stops_evaluation() -> None:
    env = EvalContext(default_registry(), LIMITS, cancelled=lambda: True)
    with pytest.raises(Cancelled):
        evaluate(_graph(p={"process_id": "pi", "arguments": {}, "result": True}), env)


def test_hidden_arguments_are_accepted_but_not_published() -> None:
    @process("_loader", hidden=("featureflags",))
    def loader(id: str, featureflags: dict[str, Any] | None = None) -> Any:
        """Pretend to load.

        Args:
            id: Collection id.
        """
        return featureflags

    from eostation.engine.registry import _DEFINITIONS

    registry = ProcessRegistry({"_loader": _DEFINITIONS.pop("_loader")})
    described = registry.describe()[0]
    assert [p["name"] for p in described["parameters"]] == ["id"]
    graph = _graph(
        l={
            "process_id": "_loader",
            "arguments": {"id": "S2", "featureflags": {"a": 1}},
            "result": True,
        }
    )
    assert evaluate(graph, EvalContext(registry, LIMITS)) == {"a": 1}
    with pytest.raises(ProcessParameterUnsupported):
        evaluate(
            _graph(
                l={"process_id": "_loader", "arguments": {"id": "S2", "other": 1}, "result": True}
            ),
            EvalContext(registry, LIMITS),
        )


def test_references_among_plain_values_in_lists_are_found() -> None:
    from eostation.engine.graph import parse, references

    value = [1.5, "a", None, True, [2, [3.0, {"from_node": "x"}]], {"k": [0, {"from_node": "y"}]}]
    assert sorted(references(value, "from_node")) == ["x", "y"]
    nodes = {
        "x": {"process_id": "pi", "arguments": {}},
        "r": {"process_id": "sum", "arguments": {"data": [1, [2, {"from_node": "x"}]]}},
        "bad": {
            "process_id": "sum",
            "arguments": {"data": [0.5, {"from_node": 7}]},
            "result": True,
        },
    }
    with pytest.raises(ProcessGraphInvalid, match=r"data\[1\]: 'from_node' must be a string"):
        parse({"process_graph": nodes})
    del nodes["bad"]
    nodes["r"]["result"] = True
    assert parse({"process_graph": nodes}).order == ("x", "r")
