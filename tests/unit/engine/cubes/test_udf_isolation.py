"""run_udf isolation: each probe of the security review, run as a real UDF process.

The UDF reports what it could reach as structured data; the assertions say it reached
nothing of the server's. Uid separation and hidden paths need the server to run as
root (or, partly, user namespaces), so without root these tests skip.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="UDF uid separation and hidden paths need the server to run as root",
    ),
    pytest.mark.slow,  # each test starts sandboxed UDF processes: seconds apiece
]

HEAD = textwrap.dedent(
    """
    import os, sys, subprocess, time
    from openeo.udf import UdfData, StructuredData

    def apply_udf_data(data: UdfData):
        context = data.user_context
        data.set_structured_data_list([StructuredData(probe(context))])
        return data

    """
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A server data dir as ``eostation serve`` leaves it with umask 022 (others may read)."""
    with tempfile.TemporaryDirectory(prefix="eostation-probe-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "eostation.db").write_text("SQLite format 3 ... users, tokens, jobs")
        (root / "eostation.db").chmod(0o644)
        (root / "jobs").mkdir(mode=0o755)
        (root / "jobs" / "result.tif").write_text("another user's result")
        yield root


def _run(code: str, data_dir: Path, context: dict[str, Any], **limits: Any) -> Any:
    settings = Settings(data_dir=data_dir, udf="on")
    base = EngineLimits.from_settings(settings, accounts=1)
    env = EvalContext(REGISTRY, EngineLimits(**{**base.__dict__, **limits}))
    graph = {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {
                    "data": [0],
                    "udf": HEAD + textwrap.dedent(code),
                    "runtime": "Python",
                    "context": context,
                },
                "result": True,
            }
        }
    }
    return evaluate(graph, env)


def _alive(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state not in ("Z", "X"):
            found.append(int(pid))
    return found


def test_a_udf_cannot_read_the_server_environment(data_dir: Path) -> None:
    secret = "probe-secret-" + os.urandom(4).hex()
    server = subprocess.Popen(["sleep", "60"], env={"EOSTATION_SECRET_KEY": secret})
    try:
        code = """
        def probe(context):
            seen = dict(os.environ)
            for pid in (context["pid"], os.getppid(), 1):
                try:
                    seen[str(pid)] = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
                except OSError as exc:
                    seen[str(pid)] = type(exc).__name__
            return seen
        """
        seen = _run(code, data_dir, {"pid": server.pid})
    finally:
        server.kill()
        server.wait()
    assert seen[str(server.pid)] == "PermissionError"
    assert secret not in repr(seen)
    assert not any(key.startswith("EOSTATION") for key in seen)


def test_a_udf_cannot_read_the_database_or_results(data_dir: Path) -> None:
    code = """
    def probe(context):
        out = {}
        for path in context["paths"]:
            try:
                out[path] = open(path).read()
            except OSError as exc:
                out[path] = type(exc).__name__
        return out
    """
    paths = [str(data_dir / "eostation.db"), str(data_dir / "jobs" / "result.tif")]
    seen = _run(code, data_dir, {"paths": paths})
    assert seen == {p: "FileNotFoundError" for p in paths}


def test_a_udf_cannot_write_into_the_data_dir(data_dir: Path) -> None:
    code = """
    def probe(context):
        try:
            open(context["path"], "w").write("planted")
            return ["written"]
        except OSError as exc:
            return [type(exc).__name__]
    """
    seen = _run(code, data_dir, {"path": str(data_dir / "planted.txt")})
    assert seen[0] in ("OSError", "PermissionError", "FileNotFoundError")
    assert not (data_dir / "planted.txt").exists()


def test_a_udf_cannot_start_50_processes_and_none_survives(data_dir: Path) -> None:
    marker = f"{time.time() % 1000:.6f}"
    code = f"""
    def probe(context):
        started = []
        for _ in range(50):
            try:
                started.append(subprocess.Popen(["sleep", "30.{marker[-6:]}"]).pid)
            except OSError:
                break
        return started
    """
    started = _run(code, data_dir, {}, udf_max_processes=8)
    assert 0 < len(started) < 8
    assert _alive(f"30.{marker[-6:]}") == []


def test_a_grandchild_neither_outlives_the_limit_nor_holds_the_request(data_dir: Path) -> None:
    marker = f"40.{os.getpid() % 1000:03d}{int(time.time()) % 1000:03d}"
    code = f"""
    def probe(context):
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        while True:
            pass
    """
    started = time.monotonic()
    with pytest.raises(OpenEOError, match="longer than 2 s"):
        _run(code, data_dir, {}, udf_timeout_seconds=2.0)
    assert time.monotonic() - started < 15
    assert _alive(marker) == []


class _Plant:
    """Unpickling this creates a file: proof that the parent ran code from the child."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(self.path), "code ran in the server"))


def test_a_forged_pickle_result_never_runs_code_in_the_server(data_dir: Path) -> None:
    proof = data_dir.parent / f"{data_dir.name}-pwned"
    payload = pickle.dumps({"ok": _Plant(str(proof))})
    code = f"""
    def probe(context):
        payload = {payload!r}
        target = sys.argv[1]
        places = [target] if not os.path.isdir(target) else [
            os.path.join(target, "out", "message.json"), os.path.join(target, "out", "0.npy")
        ]
        for place in places:
            with open(place, "wb") as f:
                f.write(payload)
        os._exit(0)
    """
    try:
        with pytest.raises(OpenEOError, match="without a valid result"):
            _run(code, data_dir, {})
        assert not proof.exists()
    finally:
        proof.unlink(missing_ok=True)
