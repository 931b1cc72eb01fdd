"""Starting and ending a ``run_udf`` child process (the server side of :mod:`.udf_child`).

:func:`sandbox_problem` checks once per server process whether the sandbox of
:mod:`.udf_sandbox` can be built here; UDFs are off where it cannot.

The child starts in a new session with an empty environment; when the server runs as
root, each run gets its own unprivileged uid (``RUN_UIDS``), which owns the work
directory. When the run ends, for whatever reason, every process of that uid and of the
child's session is killed, so neither a forked helper nor a grandchild in a new session
outlives the request or holds it past its time limit.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RUN_UIDS",
    "Ended",
    "end_child",
    "kill_uid",
    "run_child",
    "run_uid",
    "sandbox_problem",
    "seccomp_problem",
    "start_child",
    "tail",
]

RUN_UIDS = range(200_000, 264_000)
"""Uids (and gids) given to UDF runs when the server is root; no account uses them."""

_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "PYTHONUNBUFFERED": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "LANG": "C.UTF-8",
}
_TAIL_BYTES = 256 * 1024
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ended:
    """How a child ended: its exit code (negative: killed by that signal) and whether it timed out."""

    returncode: int | None
    timed_out: bool

    @property
    def signal(self) -> int | None:
        """The signal that killed the sandboxed process (its waiter exits with 128 + it)."""
        code = self.returncode
        if code is None:
            return None
        if code < 0:
            return -code
        return code - 128 if code > 128 else None


def run_uid() -> int | None:
    """A fresh uid for one run when the server is root, else None."""
    if os.geteuid() != 0:
        return None
    return RUN_UIDS.start + secrets.randbelow(len(RUN_UIDS))


def _own(workdir: Path, uid: int) -> None:
    for path in [workdir, *workdir.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)


def start_child(
    workdir: Path,
    script: Path,
    uid: int | None,
    stdin: int | None = None,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start ``python -I script workdir`` in a new session with an empty environment.

    The work directory (``stdout``, ``stderr``, ``out/``) becomes the run uid's; ``stdin``
    and ``pass_fds`` are the pipes of a reusable worker (:mod:`.udf_pool`).
    """
    for name in ("stdout", "stderr"):
        (workdir / name).touch()
    (workdir / "out").mkdir(exist_ok=True)
    workdir.chmod(0o700)
    if uid is not None:
        _own(workdir, uid)
    with (workdir / "stdout").open("ab") as out, (workdir / "stderr").open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-I", str(script), str(workdir)],
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env={**_ENVIRONMENT, "HOME": str(workdir)},
            start_new_session=True,
            pass_fds=pass_fds,
        )


def run_child(workdir: Path, script: Path, uid: int | None, timeout: float) -> Ended:
    """Run ``python -I script workdir`` for at most ``timeout`` seconds, then end everything."""
    child = start_child(workdir, script, uid)
    timed_out = False
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        end_child(child, uid)
    return Ended(child.returncode, timed_out)


def end_child(child: subprocess.Popen[bytes], uid: int | None) -> None:
    """Kill the child's session (and with it its PID namespace) and, as root, its uid."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    if uid is not None:
        kill_uid(uid)
    child.wait()


def sandbox_problem() -> str | None:
    """Why the UDF sandbox cannot be built on this machine, or None when it can.

    Builds it once in a throw-away child (namespaces, mounts, uid or capabilities,
    rlimits) and checks that no loopback connection and no hidden file is reachable.
    Cached for the life of the server process: what the kernel allows does not change.
    """
    return _probe()[0]


def seccomp_problem() -> str | None:
    """Why the sandbox runs without its seccomp filter (:mod:`.udf_seccomp`), or None
    when the probe installed it (then every worker must install it too)."""
    problem, seccomp = _probe()
    return seccomp if problem is None and seccomp != "on" else None


@functools.cache
def _probe() -> tuple[str | None, str]:
    """``(sandbox problem or None, "on" or why seccomp is off)``, probed once."""
    script = Path(__file__).with_name("udf_sandbox.py")
    with tempfile.TemporaryDirectory(prefix="eostation-udf-probe-") as tmp:
        workdir = Path(tmp)
        hidden = workdir / "hidden"
        hidden.mkdir()
        (hidden / "secret").write_text("must not be visible")
        uid = run_uid()
        launch = {"uid": uid, "hidden": [str(hidden)], "max_processes": 16}
        (workdir / "launch.json").write_text(json.dumps(launch))
        try:
            ended = run_child(workdir, script, uid, timeout=60)
        except OSError as exc:  # e.g. the run's uid does not exist in this user namespace
            return f"the sandbox probe could not start: {exc}", ""
        if (workdir / "out" / "ok").exists():
            seccomp = workdir / "out" / "seccomp"
            verdict = seccomp.read_text()[:500] if seccomp.exists() else "seccomp: no verdict"
            if verdict != "on":
                _log.warning("UDF sandbox without its syscall filter: %s", verdict)
            return None, verdict
        problem = workdir / "out" / "problem"
        if problem.exists():
            return problem.read_text()[:500], ""
        detail = tail(workdir / "stderr").strip().splitlines()[-1:] or [""]
        return f"the sandbox probe ended with status {ended.returncode} {detail[0]}".strip(), ""


def kill_uid(uid: int) -> int:
    """SIGKILL every process of ``uid`` until none is left; returns how many were killed."""
    killed = 0
    for _ in range(50):
        found = [pid for pid in _pids() if _uid_of(pid) == uid]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    return killed


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _uid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                    return None  # already dead, waiting to be reaped
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def tail(path: Path) -> str:
    """The last part of a log file the child wrote (a UDF may print without end)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _TAIL_BYTES))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return text if size <= _TAIL_BYTES else "[… earlier output dropped]\n" + text
