"""run_udf: real UDF source in a separate, limited process."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

LIMITS = EngineLimits(udf_enabled=True)

REGISTRY = default_registry()

DOUBLE = textwrap.dedent(
    """
    import xarray
    from openeo.udf import XarrayDataCube

    def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
        array: xarray.DataArray = cube.get_array()
        print("doubling", array.shape, "factor", context.get("factor"))
        return XarrayDataCube(array * context.get("factor", 2))
    """
)


HEAD = (
    "import logging, socket\nfrom openeo.udf import XarrayDataCube\n\n"
    "def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:\n"
)


def _cube() -> xr.DataArray:
    return xr.DataArray(
        np.arange(12, dtype=float).reshape(2, 2, 3),
        dims=("t", "y", "x"),
        coords={
            "t": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"),
            "y": [1.0, 0.0],
            "x": [0.0, 1.0, 2.0],
        },
        attrs={"crs": "EPSG:32633"},
    ).chunk({"t": 1})


def _run(
    code: str, limits: EngineLimits = LIMITS, **arguments: Any
) -> tuple[Any, list[tuple[str, str]]]:
    logs: list[tuple[str, str]] = []
    env = EvalContext(
        REGISTRY, limits, log=lambda level, message, data: logs.append((level, message))
    )
    graph = {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_parameter": "cube"},
                    "udf": code,
                    "runtime": "Python",
                    **arguments,
                },
                "result": True,
            }
        }
    }
    return evaluate(graph, env, {"cube": _cube()}), logs


@pytest.mark.slow
def test_apply_datacube_doubles_and_prints_into_the_log() -> None:
    out, logs = _run(DOUBLE, context={"factor": 2})
    assert isinstance(out, xr.DataArray) and out.dims == ("t", "y", "x")
    np.testing.assert_array_equal(out.values, 2 * np.arange(12).reshape(2, 2, 3))
    assert out.t.values.tolist() == _cube().t.values.tolist()
    assert ("info", "UDF (node 'u'): doubling (2, 2, 3) factor 2") in logs


@pytest.mark.slow
def test_logging_is_forwarded_with_its_level_and_the_node_id() -> None:
    code = HEAD + (
        "    logging.getLogger('mine').warning('careful %d', 7)\n"
        "    logging.getLogger('mine').info('noted')\n"
        "    logging.getLogger('mine').critical('very bad')\n    return cube\n"
    )
    _, logs = _run(code)
    assert ("warning", "UDF (node 'u'): careful 7") in logs
    assert ("info", "UDF (node 'u'): noted") in logs
    assert ("error", "UDF (node 'u'): very bad") in logs


@pytest.mark.slow
def test_infinite_loop_times_out() -> None:
    code = HEAD + "    while True:\n        pass\n"
    with pytest.raises(OpenEOError, match="longer than 2 s"):
        _run(code, replace(LIMITS, udf_timeout_seconds=2))


@pytest.mark.slow
def test_sockets_are_refused() -> None:
    code = (
        HEAD + "    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "    s.connect(('127.0.0.1', 9))\n    return cube\n"
    )
    with pytest.raises(OpenEOError, match="network access is disabled"):
        _run(code)


@pytest.mark.slow
def test_errors_in_the_udf_are_reported() -> None:
    code = HEAD + "    raise ValueError('bad input')\n"
    with pytest.raises(OpenEOError, match="ValueError: bad input"):
        _run(code)


def test_disabled_by_the_limits_and_by_default() -> None:
    for limits in (replace(LIMITS, udf_enabled=False), EngineLimits()):
        with pytest.raises(OpenEOError) as info:
            _run(DOUBLE, limits)
        assert info.value.code == "PermissionsInsufficient"


def test_unknown_runtime() -> None:
    with pytest.raises(OpenEOError) as info:
        _run(DOUBLE, runtime="R")
    assert info.value.params.get("exception") == "InvalidRuntime"
