"""The UDF sandbox itself: built by a server that is not root, and refused where it cannot be.

The first test runs :mod:`udf_sandbox` as the unprivileged user ``nobody`` with the
system's Python (standard library only) and probes from inside: a loopback server the
test started, the hidden data directory (also by unmounting its cover), the test's own
``/proc`` entry and a fork loop. The second takes user namespaces away (inside an
``unshare -r`` namespace with ``user.max_user_namespaces = 0``) and checks that the
server then turns UDFs off and says why.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from eostation.engine.processes.cubes import udf_sandbox

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]

PROBE = textwrap.dedent(
    """
    import ctypes, importlib.util, json, os, socket, sys
    from pathlib import Path

    workdir = Path(sys.argv[1])
    spec = importlib.util.spec_from_file_location("udf_sandbox", workdir / "udf_sandbox.py")
    sandbox = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sandbox)
    launch = json.loads((workdir / "launch.json").read_text())
    sandbox.enter(launch, workdir)
    seen = {"uid": os.getuid(), "pid": os.getpid()}
    try:
        socket.create_connection(("127.0.0.1", launch["port"]), timeout=2).close()
        seen["connect"] = "connected"
    except OSError as exc:
        seen["connect"] = exc.strerror
    hidden = launch["hidden"][0]
    seen["listing"] = os.listdir(hidden)
    libc = ctypes.CDLL(None, use_errno=True)
    seen["umount"] = libc.umount2(hidden.encode(), 2) == 0 or os.strerror(ctypes.get_errno())
    seen["listing_after_umount"] = os.listdir(hidden)
    seen["other_run"] = os.path.exists(launch["other_run"])
    seen["server_proc"] = os.path.exists(f"/proc/{launch['server_pid']}")
    forks = 0
    try:
        for _ in range(100):
            if os.fork() == 0:
                import time
                time.sleep(5)
                os._exit(0)
            forks += 1
    except OSError as exc:
        seen["fork_error"] = exc.strerror
    seen["forks"] = forks
    (workdir / "out" / "seen.json").write_text(json.dumps(seen))
    """
)


def _system_python() -> str:
    """A Python that ``nobody`` may run (the test's own may live under a closed home)."""
    for candidate in ("/usr/bin/python3", shutil.which("python3") or ""):
        if candidate and os.access(candidate, os.X_OK) and candidate.startswith("/usr/"):
            return candidate
    if os.environ.get("CI") == "true":
        pytest.fail("CI needs /usr/bin/python3 for the unprivileged sandbox test")
    pytest.skip("no system Python for the unprivileged user")


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory that ``nobody`` can reach (pytest's own is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="eostation-sandbox-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_an_unprivileged_server_builds_the_whole_sandbox(open_tmp: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("switching to the user nobody needs root and setpriv (util-linux)")
    python = _system_python()
    tmp_path = open_tmp
    workdir = tmp_path / "run"
    (workdir / "out").mkdir(parents=True)
    hidden = workdir / "data"  # its parent, the temporary directory, is covered as a whole
    hidden.mkdir()
    (tmp_path / "other-run").mkdir()
    (hidden / "eostation.db").write_text("users and tokens")
    shutil.copy(Path(udf_sandbox.__file__), workdir / "udf_sandbox.py")
    (workdir / "probe.py").write_text(PROBE)
    with socket.create_server(("127.0.0.1", 0)) as server:
        launch = {
            "uid": None,
            "hidden": [str(hidden)],
            "max_processes": 8,
            "port": server.getsockname()[1],
            "server_pid": os.getpid(),
            "other_run": str(tmp_path / "other-run"),
        }
        (workdir / "launch.json").write_text(json.dumps(launch))
        for path in (tmp_path, workdir, workdir / "out", hidden, hidden / "eostation.db"):
            os.chown(path, NOBODY, NOBODY)
        run = subprocess.run(
            [*SETPRIV, python, "-I", str(workdir / "probe.py"), str(workdir)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin"},
        )
    assert run.returncode == 0, run.stderr
    seen = json.loads((workdir / "out" / "seen.json").read_text())
    assert seen["uid"] == NOBODY and seen["pid"] == 1
    assert seen["connect"] == "Network is unreachable"
    assert seen["listing"] == [] and seen["listing_after_umount"] == []
    assert seen["umount"] == "Operation not permitted"  # no capabilities left
    assert seen["server_proc"] is False and seen["other_run"] is False
    assert seen["fork_error"] == "Resource temporarily unavailable"
    assert 1 <= seen["forks"] < 8


@pytest.mark.slow
def test_without_namespaces_udfs_are_off_and_say_why(tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is missing")
    script = textwrap.dedent(
        f"""
        import json
        from eostation.config import Settings
        from eostation.engine.context import EvalContext
        from eostation.engine.evaluate import evaluate
        from eostation.engine.limits import EngineLimits
        from eostation.engine.registry import default_registry
        from eostation.errors import OpenEOError

        limits = EngineLimits.from_settings(Settings(data_dir="{tmp_path}", udf="on"))
        graph = {{"process_graph": {{"u": {{"process_id": "run_udf", "result": True,
            "arguments": {{"data": [1], "udf": "x = 1\\n", "runtime": "Python"}}}}}}}}
        try:
            evaluate(graph, EvalContext(default_registry(), limits))
            error = None
        except OpenEOError as exc:
            error = [exc.code, exc.message]
        print(json.dumps([limits.udf_enabled, error]))
        """
    )
    shell = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" -c "$1"'
    run = subprocess.run(
        ["unshare", "-r", "sh", "-c", shell, sys.executable, script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.returncode != 0 and "unshare failed" in run.stderr:
        pytest.skip(f"no user namespace to take namespaces away in: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    enabled, error = json.loads(run.stdout.strip().splitlines()[-1])
    assert enabled is True  # the setting allows UDFs; the sandbox check turns them off
    assert error[0] == "PermissionsInsufficient"
    assert "run_udf) are off: their sandbox cannot be built on this server (" in error[1]
