"""run_udf sandbox: each probe of the security review, run as a real UDF process.

The UDF reports what it could reach as structured data, or fails; the assertions say it
reached nothing of the server's and that each refusal is in the log (the engine's log
sink, which is the job log in batch and the monitor log in sync). Where the sandbox
cannot be built (no namespaces), the ``sandbox`` fixture asserts that UDFs are off and
then skips with the reason; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.udf_process import sandbox_problem, seccomp_problem
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError

REGISTRY = default_registry()

pytestmark = pytest.mark.slow  # each test starts sandboxed UDF processes: seconds apiece

HEAD = textwrap.dedent(
    """
    import ctypes, os, sys, subprocess, time
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
        (root / "jobs" / "bob-job").mkdir(mode=0o755, parents=True)
        (root / "jobs" / "bob-job" / "result.tif").write_text("another user's result")
        yield root


@pytest.fixture(autouse=True)
def sandbox(data_dir: Path) -> None:
    """Run the test where the sandbox can be built; elsewhere prove that UDFs are off."""
    problem = sandbox_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must be able to build the UDF sandbox: {problem}")
    with pytest.raises(OpenEOError, match="sandbox cannot be built") as info:
        _run("def probe(context):\n    return 1\n", data_dir, {})
    assert info.value.code == "PermissionsInsufficient"
    pytest.skip(f"the UDF sandbox cannot be built here ({problem}); asserted that UDFs are off")


Logs = list[tuple[str, str]]


def _run(
    code: str, data_dir: Path, context: dict[str, Any], logs: Logs | None = None, **limits: Any
) -> Any:
    settings = Settings(data_dir=data_dir, udf="on")
    base = EngineLimits.from_settings(settings)
    sink = logs if logs is not None else []
    env = EvalContext(
        REGISTRY,
        EngineLimits(**{**base.__dict__, **limits}),
        log=lambda level, message, data: sink.append((level, message)),
    )
    graph = {
        "process_graph": {
            "probe1": {
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


def _refused(code: str, data_dir: Path, context: dict[str, Any], **limits: Any) -> tuple[str, str]:
    """Run a UDF that must fail; its error message and the log's error entries."""
    logs: Logs = []
    with pytest.raises(OpenEOError) as info:
        _run(code, data_dir, context, logs, **limits)
    errors = "\n".join(message for level, message in logs if level == "error")
    assert "UDF (node 'probe1')" in errors, logs
    return info.value.message, errors


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


def _survivors(marker: str, seconds: float = 5.0) -> list[int]:
    """``_alive(marker)`` once the kernel has had ``seconds`` to deliver the kill: the
    processes of a killed PID namespace die asynchronously (seen under load in CI)."""
    deadline = time.monotonic() + seconds
    while (alive := _alive(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


class _Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepted."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = int(self.server.getsockname()[1])
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.server.close()


def test_a_udf_cannot_connect_to_a_loopback_server_even_below_python(data_dir: Path) -> None:
    listener = _Listener()
    try:
        with socket.create_connection(("127.0.0.1", listener.port)):
            pass  # the listener works: one connection from the test itself
        # The raw libc calls bypass the Python-level socket block: only the empty
        # network namespace stands in the way.
        code = """
        class Addr(ctypes.Structure):
            _fields_ = [("family", ctypes.c_ushort), ("port", ctypes.c_uint16),
                        ("addr", ctypes.c_uint32), ("zero", ctypes.c_char * 8)]

        def probe(context):
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.socket(2, 1, 0)
            if fd == -1:
                err = ctypes.get_errno()
                raise OSError(err, "raw socket: " + os.strerror(err))
            port = context["port"]
            addr = Addr(2, ((port & 0xFF) << 8) | (port >> 8), 0x0100007F, b"")
            if libc.connect(fd, ctypes.byref(addr), ctypes.sizeof(addr)) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "raw connect to the loopback server: " + os.strerror(err))
            return ["connected"]
        """
        message, errors = _refused(code, data_dir, {"port": listener.port})
    finally:
        listener.close()
    assert listener.accepted == 1
    if seccomp_problem() is None:  # the filter refuses the socket before the namespace
        assert "Operation not permitted" in message and "raw socket" in errors
    else:  # the empty network namespace (also tested without the filter in test_udf_sandbox)
        assert "Network is unreachable" in message and "raw connect" in errors


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
    # A fresh /proc in the UDF's own PID namespace: the server's processes do not exist.
    assert seen[str(server.pid)] == "FileNotFoundError"
    assert secret not in repr(seen)
    assert not any(key.startswith("EOSTATION") for key in seen)


def test_a_udf_cannot_read_the_database_the_data_dir_or_another_users_result(
    data_dir: Path,
) -> None:
    other_run = Path(tempfile.mkdtemp(prefix="eostation-udf-other-"))
    (other_run / "in").mkdir()
    (other_run / "in" / "message.json").write_text('{"data": "another run\'s input"}')
    code = """
    def probe(context):
        out = {"listing": os.path.exists(context["data_dir"]) and os.listdir(context["data_dir"])}
        for path in context["paths"]:
            try:
                out[path] = open(path).read()
            except OSError as exc:
                out[path] = type(exc).__name__
        return out
    """
    paths = [
        str(data_dir / "eostation.db"),
        str(data_dir / "jobs" / "bob-job" / "result.tif"),
        str(other_run / "in" / "message.json"),
    ]
    try:
        seen = _run(code, data_dir, {"paths": paths, "data_dir": str(data_dir)})
    finally:
        subprocess.run(["rm", "-rf", str(other_run)], check=True)
    assert not seen.pop("listing")  # hidden (empty), or gone with the temporary directory
    assert seen == {p: "FileNotFoundError" for p in paths}
    result = str(data_dir / "jobs" / "bob-job" / "result.tif")
    message, errors = _refused(
        "def probe(context):\n    return [open(context['path']).read()]\n",
        data_dir,
        {"path": result},
    )
    assert "FileNotFoundError" in message and result in errors


def test_a_udf_cannot_write_into_the_data_dir(data_dir: Path) -> None:
    code = """
    def probe(context):
        open(context["path"], "w").write("planted")
        return ["written"]
    """
    planted = str(data_dir / "planted.txt")
    message, errors = _refused(code, data_dir, {"path": planted})
    assert re.search(r"(OSError|PermissionError|FileNotFoundError): \[Errno \d+\]", message)
    assert planted in errors  # refused, and the job log says where it tried to write
    assert not (data_dir / "planted.txt").exists()


def test_a_fork_bomb_is_stopped_and_none_of_its_processes_survives(data_dir: Path) -> None:
    marker = f"30.{os.getpid() % 1000:03d}{int(time.time() * 1000) % 1000:03d}"
    code = f"""
    def probe(context):
        started = 0
        while True:
            try:
                subprocess.Popen(["sleep", "{marker}"])
            except OSError as exc:
                raise RuntimeError(f"process {{started + 1}} refused: {{exc}}") from None
            started += 1
    """
    message, errors = _refused(code, data_dir, {}, udf_max_processes=8)
    assert "refused: [Errno 11] Resource temporarily unavailable" in message
    found = re.search(r"process (\d+) refused", message)
    assert found is not None
    refused_at = int(found.group(1))
    assert 2 <= refused_at <= 8 and "refused" in errors
    assert _survivors(marker) == []


def test_memory_beyond_the_limit_is_refused(data_dir: Path) -> None:
    code = """
    def probe(context):
        import numpy
        return [float(numpy.ones(512 * 1024 * 1024 // 8).sum())]
    """
    message, errors = _refused(code, data_dir, {}, udf_memory_mb=256)
    assert "out of memory" in message and "out of memory" in errors
    # The same UDF with room to spare: the limit, not the code, refused it.
    assert _run(code, data_dir, {}, udf_memory_mb=2048) == [512 * 1024 * 1024 / 8]


def test_cpu_time_beyond_the_limit_is_refused(data_dir: Path) -> None:
    code = """
    def probe(context):
        while True:
            pass
    """
    started = time.monotonic()
    message, errors = _refused(code, data_dir, {}, udf_cpu_seconds=1, udf_timeout_seconds=60)
    assert time.monotonic() - started < 30
    assert "the limit of 1 CPU seconds" in message
    assert "killed by signal 9" in errors or "killed by signal 24" in errors


def test_a_grandchild_neither_outlives_the_limit_nor_holds_the_request(data_dir: Path) -> None:
    marker = f"40.{os.getpid() % 1000:03d}{int(time.time()) % 1000:03d}"
    code = f"""
    def probe(context):
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        time.sleep(3600)
    """
    started = time.monotonic()
    message, errors = _refused(code, data_dir, {}, udf_timeout_seconds=2.0)
    assert time.monotonic() - started < 15
    assert "longer than 2 s" in message and "longer than 2 s" in errors
    assert _survivors(marker) == []


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


def test_workers_serve_the_chunks_of_one_run_and_never_another_run(data_dir: Path) -> None:
    code = HEAD + textwrap.dedent(
        """
        def probe(context):
            mark = os.path.join(os.environ["HOME"], "mark")
            seen = os.path.exists(mark)
            open(mark, "w").write("left by an earlier call")
            return [seen, os.getpid()]
        """
    )
    limits = EngineLimits.from_settings(Settings(data_dir=data_dir, udf="on"))
    graph = {
        "process_graph": {
            "u": {
                "process_id": "run_udf",
                "arguments": {"data": [0], "udf": code, "runtime": "Python"},
                "result": True,
            }
        }
    }
    alice, bob = EvalContext(REGISTRY, limits), EvalContext(REGISTRY, limits)
    first, second = evaluate(graph, alice), evaluate(graph, alice)
    assert first[0] is False and second[0] is True  # the same worker served both chunks
    assert first[1] != second[1]  # each call in a fresh fork of it
    assert evaluate(graph, bob)[0] is False  # another run (user): another worker
    assert (alice.udf_workers.started, bob.udf_workers.started) == (1, 1)
    alice.udf_workers.close()
    bob.udf_workers.close()


def test_links_and_folders_planted_in_the_worker_dir_reach_nothing(data_dir: Path) -> None:
    secret = data_dir / "eostation.db"  # hidden inside; the server itself could read it
    code = HEAD + textwrap.dedent(
        """
        def probe(context):
            home = os.environ["HOME"]
            for stream in ("stdout", "stderr"):
                os.remove(os.path.join(home, stream))
                os.symlink(context["secret"], os.path.join(home, stream))
            os.makedirs(os.path.join(home, "calls", str(context["next"])), exist_ok=True)
            print("planted")
            return ["planted"]
        """
    )
    limits = EngineLimits.from_settings(Settings(data_dir=data_dir, udf="on"))
    logs: Logs = []
    env = EvalContext(REGISTRY, limits, log=lambda level, message, _: logs.append((level, message)))

    def graph(next_call: int) -> dict[str, Any]:
        arguments = {
            "data": [0],
            "udf": code,
            "runtime": "Python",
            "context": {"secret": str(secret), "next": next_call},
        }
        return {
            "process_graph": {
                "u": {"process_id": "run_udf", "arguments": arguments, "result": True}
            }
        }

    assert evaluate(graph(2), env) == ["planted"]
    with pytest.raises(OpenEOError, match="without a valid result"):
        evaluate(graph(2), env)  # its folder was planted: the worker is ended, not trusted
    assert evaluate(graph(2), env) == ["planted"]  # a new worker
    assert env.udf_workers.started == 2
    assert "SQLite format 3" not in repr(logs)
    env.udf_workers.close()
