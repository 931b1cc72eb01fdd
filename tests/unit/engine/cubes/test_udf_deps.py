"""UDF dependencies (PEP 723): parsing, and one real environment built with uv from PyPI.

The build test installs ``numpy-financial`` (a 6 kB pure-Python wheel that depends on
numpy): the environment must hold it and not numpy, which the server already has. It
needs PyPI; without it the test skips locally and fails with ``CI=true``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.udf_deps import declared
from eostation.engine.processes.cubes.udf_process import sandbox_problem
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()

FINANCIAL = textwrap.dedent(
    """
    # /// script
    # requires-python = ">=3.10"
    # dependencies = [
    #   "numpy-financial",
    # ]
    # ///
    import numpy_financial
    from openeo.udf import UdfData, StructuredData

    def apply_udf_data(data: UdfData):
        rate, nper, pv = data.get_structured_data_list()[0].data
        payment = float(numpy_financial.pmt(rate, nper, pv))
        data.set_structured_data_list([StructuredData([payment, numpy_financial.__file__])])
        return data
    """
)


def test_the_script_block_is_read_as_pep_723_says() -> None:
    assert declared("import numpy\n") == []
    code = '# /// script\n# dependencies = ["Tabulate>=0.9", "humanize"]\n# ///\nx = 1\n'
    assert declared(code) == ["Tabulate>=0.9", "humanize"]
    other = '# /// pyproject\n# dependencies = ["humanize"]\n# ///\n'
    assert declared(other) == []


@pytest.mark.parametrize(
    ("block", "reason"),
    [
        ('# dependencies = ["pkg @ https://127.0.0.1/pkg.whl"]', "direct reference"),
        ('# dependencies = ["pkg @ file:///etc/passwd"]', "direct reference"),
        ('# dependencies = "humanize"', "must be a list of strings"),
        ('# dependencies = ["not a requirement!"]', "not a valid requirement"),
        ("# dependencies = [", "not valid TOML"),
    ],
)
def test_bad_script_blocks_are_refused_with_the_reason(block: str, reason: str) -> None:
    with pytest.raises(OpenEOError, match=reason) as info:
        declared(f"# /// script\n{block}\n# ///\n")
    assert info.value.code == "ProcessParameterInvalid"


def _pypi() -> None:
    try:
        httpx.get("https://pypi.org/simple/numpy-financial/", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must reach PyPI for the UDF dependency test: {exc}")
        pytest.skip(f"PyPI is not reachable: {exc}")
    problem = sandbox_problem()
    if problem is not None:
        pytest.skip(f"UDFs are off here (the sandbox tests assert it): {problem}")


def _run(code: str, data_dir: Path, data: Any, logs: list[str]) -> Any:
    limits = EngineLimits.from_settings(Settings(data_dir=data_dir, udf="on"))
    env = EvalContext(REGISTRY, limits, log=lambda level, message, _: logs.append(message))
    arguments = {"data": data, "udf": code, "runtime": "Python"}
    graph = {
        "process_graph": {"u": {"process_id": "run_udf", "arguments": arguments, "result": True}}
    }
    return evaluate(graph, env)


@pytest.mark.slow
def test_a_udf_gets_its_dependency_layered_over_the_servers_environment(tmp_path: Path) -> None:
    _pypi()
    data_dir = tmp_path / "data"
    logs: list[str] = []
    payment, module = _run(FINANCIAL, data_dir, [0.0, 4, 100.0], logs)
    assert payment == pytest.approx(-25.0)  # no interest: 100 in 4 payments of 25
    envs = [p for p in (data_dir / "udf-envs").iterdir() if not p.name.startswith(".")]
    assert len(envs) == 1 and module.startswith(str(envs[0]))
    installed = {p.name.split("-")[0] for p in envs[0].iterdir()}
    assert "numpy_financial" in installed and "numpy" not in installed  # numpy: the server's
    assert "UDF (node 'u'): dependencies numpy-financial" in logs
    # A second run (another chunk, another job) uses the same environment as it is.
    stamp = (envs[0] / ".complete").stat().st_mtime_ns
    assert _run(FINANCIAL, data_dir, [0.0, 2, 10.0], [])[0] == pytest.approx(-5.0)
    assert (envs[0] / ".complete").stat().st_mtime_ns == stamp


def test_a_package_that_cannot_be_had_is_a_clear_error(tmp_path: Path) -> None:
    _pypi()
    code = "# /// script\n# dependencies = ['eostation-no-such-package-4711']\n# ///\nx = 1\n"
    with pytest.raises(OpenEOError, match="dependencies cannot be installed") as info:
        _run(code, tmp_path / "data", [1], [])
    assert "eostation-no-such-package-4711" in info.value.message
    assert info.value.code == "ProcessParameterInvalid"
