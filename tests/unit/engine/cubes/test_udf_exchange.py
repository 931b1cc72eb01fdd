"""UDF data through shared memory: arrays mapped, not copied, and what a UDF leaves in
its output (oversized, linked, malformed buffers) refused with a clear error."""

from __future__ import annotations

import os
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.udf import execute_udf
from eostation.engine.processes.cubes.udf_pool import default_exchange_bytes, exchange_root
from eostation.errors import OpenEOError
from tests.unit.engine.cubes.test_udf_isolation import REGISTRY, _refused, _run
from tests.unit.engine.cubes.test_udf_isolation import data_dir as data_dir
from tests.unit.engine.cubes.test_udf_isolation import sandbox as sandbox
from tests.unit.engine.cubes.test_udf_protocol import _mapped

pytestmark = pytest.mark.slow  # sandboxed UDF processes

# A UDF that writes its own output folder (it knows the layout) and ends at once.
FORGE = """
import numpy as np

def probe(context):
    calls = os.path.join(sys.argv[1], "calls")
    out = os.path.join(calls, max(os.listdir(calls), key=int), "out")
    links = []
    for i, mib in enumerate(context["arrays_mib"]):
        path = os.path.join(out, f"{i}.npy")
        with open(path, "wb") as f:
            header = {"descr": "<f4", "fortran_order": False, "shape": (mib, 256, 1024)}
            np.lib.format.write_array_header_1_0(f, header)
            f.truncate(f.tell() + mib * 2**20 - context.get("short", 0))  # sparse
        links.append({"$array": i})
        if context.get("link"):
            os.link(path, os.path.join(os.environ["HOME"], f"kept{i}"))
    with open(os.path.join(out, "message.json"), "w") as f:
        f.write('{"ok": %s}' % str(links).replace("'", '"'))
    os._exit(0)
"""


def test_an_oversized_result_is_refused_with_the_limit(data_dir: Path) -> None:
    message, errors = _refused(FORGE, data_dir, {"arrays_mib": [600, 600]}, udf_memory_mb=1024)
    assert "more than the limit of 1024 MiB" in message and "1024 MiB" in errors
    # Within the limit the same forged folder is a valid result (sparse: zeros).
    assert [a.shape for a in _run(FORGE, data_dir, {"arrays_mib": [2, 3]})] == [
        (2, 256, 1024),
        (3, 256, 1024),
    ]


def test_a_result_buffer_shorter_than_its_header_or_linked_is_refused(data_dir: Path) -> None:
    message, errors = _refused(FORGE, data_dir, {"arrays_mib": [4], "short": 4})
    assert "announces 1048576 values of float32, the file holds 4194300 bytes" in message
    assert "announces" in errors
    # A link kept in the worker's home would let a later call shrink a file the server
    # has mapped (SIGBUS): refused.
    message, errors = _refused(FORGE, data_dir, {"arrays_mib": [1], "link": True})
    assert "0.npy has other links" in message and "other links" in errors


IDENTITY = textwrap.dedent(
    """
    import os

    import numpy as np
    from openeo.udf import XarrayDataCube

    def apply_datacube(cube: XarrayDataCube, context: dict) -> XarrayDataCube:
        values = cube.get_array().values
        base = values.base
        while isinstance(base, np.ndarray):
            base = base.base
        mapped = isinstance(base, memoryview) and type(base.obj).__name__ == "mmap"
        print("input mapped:", mapped, "shm:", os.getcwd().startswith("/dev/shm/"))
        values[0, 0, 0] += 1  # a private mapping: the UDF may write into its input
        return cube
    """
)


def test_chunks_cross_through_mapped_files_that_are_gone_after_each_call(
    data_dir: Path,
) -> None:
    logs: list[tuple[str, str]] = []
    limits = EngineLimits.from_settings(Settings(data_dir=data_dir, udf="on"))
    env = EvalContext(REGISTRY, limits, log=lambda level, message, _: logs.append((level, message)))
    graph: dict[str, Any] = {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_parameter": "c"},
                    "udf": IDENTITY,
                    "runtime": "Python",
                },
                "result": True,
            }
        }
    }
    for seed in range(3):
        values = np.random.default_rng(seed).random(
            (2, 128, 128), dtype=np.float32
        )  # 128 kB: mapped
        cube = xr.DataArray(values, dims=("bands", "y", "x"), coords={"bands": ["a", "b"]})
        out = evaluate(graph, env, {"c": cube})
        expected = values.copy()
        expected[0, 0, 0] += 1
        np.testing.assert_array_equal(out.values, expected)
        assert _mapped(out.values)
        assert cube.values[0, 0, 0] == values[0, 0, 0]  # the caller's chunk is untouched
    (worker,) = env.udf_workers._all
    assert list((worker.workdir / "calls").iterdir()) == []  # each call's folder removed
    assert list(worker.claimed.iterdir()) == []  # outputs unlinked once mapped
    on_shm = exchange_root() == Path("/dev/shm")
    assert worker.workdir.parent == exchange_root()
    printed = [m for _, m in logs if "input mapped:" in m]
    assert printed == [f"UDF (node 'u'): input mapped: True shm: {on_shm}"] * 3
    env.udf_workers.close()
    assert not worker.workdir.exists() and not worker.claimed.exists()


def test_another_runs_exchange_folder_is_hidden(data_dir: Path) -> None:
    other = Path(tempfile.mkdtemp(prefix="eostation-udf-", dir=exchange_root()))
    (other / "calls" / "1" / "in").mkdir(parents=True)
    np.save(other / "calls" / "1" / "in" / "0.npy", np.full(4, 7.0))
    code = """
    def probe(context):
        path = context["path"]
        listing = sorted(os.listdir(os.path.dirname(context["root"])))
        return [os.path.exists(path), listing, os.path.basename(os.getcwd())]
    """
    try:
        seen = _run(code, data_dir, {"path": str(other / "calls/1/in/0.npy"), "root": str(other)})
    finally:
        for path in sorted(other.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        other.rmdir()
    assert seen[0] is False
    # Of the exchange folders in the exchange root, only its own shows (the interpreter's
    # own paths may show too when they lie there, e.g. a checkout in /tmp).
    assert [n for n in seen[1] if n.startswith("eostation-udf")] == [seen[2]]
    assert seen[2] != other.name


# Files under the per-file limit, many of them, in the worker's own folder on /dev/shm.
FILL = """
def probe(context):
    for i in range(context["files"]):
        with open(os.path.join(os.environ["HOME"], f"fill{i}"), "wb") as f:
            f.write(b"x" * context["kib"] * 1024)
    time.sleep(context.get("sleep", 0))
    return context["files"]
"""


def test_many_files_filling_the_exchange_folder_stop_the_udf(data_dir: Path) -> None:
    # 40 files of 1 MiB, each far below the per-file limit, 40 MiB against a 16 MiB total:
    # before the total limit they all landed in /dev/shm.
    context = {"files": 40, "kib": 1024, "sleep": 10}
    started = time.monotonic()
    message, errors = _refused(FILL, data_dir, context, udf_exchange_mb=16)
    assert "exchange folder grew beyond 16.0 MiB" in message
    assert "EOSTATION_LIMITS__UDF_EXCHANGE_MB" in message and "grew beyond" in errors
    assert time.monotonic() - started < 8  # stopped while it slept, not at its end
    # A call that stays below it runs, in a fresh worker.
    assert _run(FILL, data_dir, {"files": 4, "kib": 1024}, udf_exchange_mb=16) == 4
    message, _ = _refused(FILL, data_dir, {"files": 10_050, "kib": 0, "sleep": 10})
    assert "more than 10000 files" in message


def test_an_input_beyond_the_exchange_limit_is_refused_before_it_is_written(
    data_dir: Path,
) -> None:
    env = EvalContext(REGISTRY, EngineLimits(udf_enabled=True, udf_exchange_mb=1))
    with pytest.raises(OpenEOError) as info:
        execute_udf("def f(x):\n    return x\n", np.zeros(2**19, np.float32), {}, env)
    assert info.value.code == "ProcessParameterInvalid"
    assert "the arrays hold 2.0 MiB, more than the limit of 1.0 MiB" in info.value.message
    assert "EOSTATION_LIMITS__UDF_EXCHANGE_MB" in info.value.message
    # Refused before the worker saw it: the same worker takes the next call.
    small = "import xarray\n\ndef apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:\n    return cube * 2\n"
    cube = xr.DataArray(np.ones((2, 2), np.float32), dims=("y", "x"))
    assert float(execute_udf(small, cube, {}, env).sum()) == 8.0
    assert env.udf_workers.started == 1
    env.udf_workers.close()


def test_the_exchange_limit_is_a_setting_and_by_default_a_share_of_the_free_space(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, limits={"udf_exchange_mb": 16})
    assert EngineLimits.from_settings(settings).udf_exchange_mb == 16
    assert EngineLimits.from_settings(Settings(data_dir=tmp_path)).udf_exchange_mb is None
    room = os.statvfs(exchange_root())
    assert default_exchange_bytes(exchange_root()) == room.f_bavail * room.f_frsize // 8
