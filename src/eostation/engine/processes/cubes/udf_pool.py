"""Reusable UDF workers: one sandboxed process serves many calls of one run.

Starting an interpreter, importing numpy, xarray and ``openeo.udf`` and building the
sandbox costs far more than most UDF calls on a chunk. A :class:`UdfWorkers` pool
belongs to one evaluation context, so to one run of one user (a batch job, a
synchronous request): its workers serve the chunks of that run only, never another
user's. Workers are keyed by the UDF's dependency environment; concurrent calls (dask
threads) get separate workers.

A worker is :mod:`.udf_child` after its sandbox is built: the server writes a call's
input into ``WORKDIR/calls/<n>/in`` (:mod:`.udf_protocol`: JSON plus ``.npy`` buffers,
no pickles), sends ``<n>`` on the worker's stdin and reads ``<n> <exit code>`` from a
result pipe. Work directories live on ``/dev/shm`` where it has room (memory, not disk:
each array is written once and mapped by the other side), else in the temporary
directory. Once a call has answered, every process it started has ended; the server
then moves its ``out`` folder beside the work directory, out of the sandbox's sight, so
no later call can change or shrink a file the server has mapped, and removes the call's
folder. Each call runs in a fresh fork of the worker (its own CPU-time limit; every
process it started is killed afterwards). At the wall-clock limit, or when a call does
not answer, the whole worker is killed and the next call starts a new one. Workers end
when the pool is closed or garbage-collected, or after ``idle_seconds`` without a call.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import stat
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eostation.engine.processes.cubes import udf_process, udf_protocol

__all__ = ["CallEnded", "UdfWorker", "UdfWorkers", "default_exchange_bytes", "exchange_root"]

_CHILD = Path(__file__).with_name("udf_child.py")
_SHM = Path("/dev/shm")
_SHM_ROOM = 1 << 30
# The default exchange limit of a worker: this share of the free space at its start.
_EXCHANGE_SHARE = 8
# Files a worker's folder may hold at once (a tmpfs inode costs memory even when empty).
_MAX_ENTRIES = 10_000
# How often the server measures a running call's folder.
_WATCH_SECONDS = 0.1
_SETTING = "EOSTATION_LIMITS__UDF_EXCHANGE_MB"


def exchange_root() -> Path:
    """Where work directories go: ``/dev/shm`` when writable with 1 GiB free, else the
    temporary directory (a container's default 64 MB ``/dev/shm`` is too small)."""
    try:
        room = os.statvfs(_SHM)
    except OSError:
        return Path(tempfile.gettempdir())
    if os.access(_SHM, os.W_OK) and room.f_bavail * room.f_frsize >= _SHM_ROOM:
        return _SHM
    return Path(tempfile.gettempdir())


def default_exchange_bytes(root: Path) -> int:
    """The exchange limit of a worker when none is set: a share of the free space."""
    room = os.statvfs(root)
    return room.f_bavail * room.f_frsize // _EXCHANGE_SHARE


@dataclass(frozen=True)
class CallEnded:
    """How one call ended: its output folder (None when the worker died or timed out),
    what it printed and logged, and why it failed to answer."""

    out: Path | None
    stdout: str
    stderr: str
    timed_out: bool = False
    signal: int | None = None
    sandbox_error: str | None = None
    exchange_full: str | None = None


class UdfWorker:
    """One sandboxed worker process, serving one call at a time."""

    def __init__(self, launch: dict[str, Any], idle_seconds: float) -> None:
        root = exchange_root()
        self.exchange_bytes = int(launch.get("exchange_bytes") or default_exchange_bytes(root))
        """Most the work directory may hold at once (see :meth:`_exchange_full`)."""
        self.workdir = Path(tempfile.mkdtemp(prefix="eostation-udf-", dir=root))
        # Outputs the server reads: beside the work directory, hidden from the sandbox.
        self.claimed = Path(tempfile.mkdtemp(prefix="eostation-udf-out-", dir=root))
        (self.workdir / "calls").mkdir()
        self.uid = udf_process.run_uid()
        control_read, self._control = os.pipe()
        self._results, results_write = os.pipe()
        launch = {
            **launch,
            "uid": self.uid,
            "results_fd": results_write,
            "tmp": [tempfile.gettempdir()],
            "file_bytes": min(
                int(launch.get("file_bytes", 0)) or self.exchange_bytes, self.exchange_bytes
            ),
        }
        (self.workdir / "launch.json").write_text(
            json.dumps({**launch, "idle_seconds": idle_seconds})
        )
        # The server reads the UDF's output through descriptors it opened itself: a
        # UDF that replaces the files with links cannot make it read anything else.
        self._streams: dict[str, int] = {}
        for stream in ("stdout", "stderr"):
            (self.workdir / stream).touch()
            self._streams[stream] = os.open(self.workdir / stream, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            self.child = udf_process.start_child(
                self.workdir, _CHILD, self.uid, stdin=control_read, pass_fds=(results_write,)
            )
        finally:
            os.close(control_read)
            os.close(results_write)
        self._calls = 0
        self._closed = False
        self._offsets = {"stdout": 0, "stderr": 0}
        self._buffer = b""

    def alive(self) -> bool:
        """Whether the worker process still runs."""
        return self.child.poll() is None

    def call(self, value: Any, timeout: float) -> CallEnded:
        """Run one call on ``value`` (a protocol message) within ``timeout`` seconds."""
        self._calls += 1
        name = str(self._calls)
        call = self.workdir / "calls" / name
        try:
            call.mkdir()
        except FileExistsError:  # planted by an earlier call of this run
            self.close()
            return CallEnded(None, "", "")
        try:
            udf_protocol.write_message(call / "in", value, max_bytes=self.exchange_bytes)
        except udf_protocol.ProtocolError as exc:
            shutil.rmtree(call, ignore_errors=True)
            raise udf_protocol.ProtocolError(
                f"{exc} a UDF worker may exchange ({_SETTING})"
            ) from None
        (call / "out").mkdir()
        if self.uid is not None:
            for path in (call, call / "in", *(call / "in").iterdir(), call / "out"):
                os.chown(path, self.uid, self.uid)
        answer, timed_out = self._ask(name, timeout)
        stdout, stderr = self._read("stdout"), self._read("stderr")
        full = self._exchange_full()
        if full is not None:
            self.close()
            return CallEnded(None, stdout, stderr, exchange_full=full)
        if answer is None:
            self.close()
            error = self.workdir / "sandbox-error"
            return CallEnded(
                None,
                stdout,
                stderr,
                timed_out=timed_out,
                sandbox_error=error.read_text() if error.exists() else None,
            )
        out = self._claim(call, name)
        shutil.rmtree(call, ignore_errors=True)
        return CallEnded(out, stdout, stderr, signal=-answer if answer < 0 else None)

    def _claim(self, call: Path, name: str) -> Path:
        """Move the call's ``out`` folder out of the sandbox's reach; a missing path when
        the call replaced it or a folder above it with a link. No process of the call is
        left at this point, so nothing can swap the path between check and move."""
        missing = self.claimed / "missing"
        if os.path.realpath(call / "out") != str(self.workdir.resolve() / "calls" / name / "out"):
            return missing
        out = self.claimed / name
        try:
            os.rename(call / "out", out)
        except OSError:
            return missing
        return out if stat.S_ISDIR(os.lstat(out).st_mode) else missing

    def _ask(self, name: str, timeout: float) -> tuple[int | None, bool]:
        """Send the call; ``(exit code, False)``, or ``(None, timed out)`` when no answer came."""
        try:
            os.write(self._control, f"{name}\n".encode())
        except OSError:  # the worker has gone
            return None, False
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, True
            if not select.select([self._results], [], [], min(left, _WATCH_SECONDS))[0]:
                if self._exchange_full() is not None:
                    return None, False
                continue
            chunk = os.read(self._results, 4096)
            if not chunk:
                return None, False
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        got, _, code = line.decode().partition(" ")
        return (int(code), False) if got == name else (None, False)

    def _exchange_full(self) -> str | None:
        """Why the work directory holds too much, or None.

        Measured by the server every ``_WATCH_SECONDS`` during a call and once after it:
        each file is capped by ``RLIMIT_FSIZE`` in the sandbox, the whole folder (on
        ``/dev/shm``, memory) here. A call that goes over is stopped with its worker.
        """
        total = entries = 0
        folders = [self.workdir]
        while folders:
            try:
                scan = os.scandir(folders.pop())
            except OSError:
                continue
            with scan:
                for entry in scan:
                    entries += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        folders.append(Path(entry.path))
                    if entries > _MAX_ENTRIES:
                        return (
                            f"the UDF wrote more than {_MAX_ENTRIES} files into its exchange "
                            "folder and was stopped"
                        )
                    if total > self.exchange_bytes:
                        return (
                            f"the UDF's exchange folder grew beyond "
                            f"{self.exchange_bytes / 2**20:.1f} MiB and the UDF was stopped "
                            f"({_SETTING})"
                        )
        return None

    def _read(self, stream: str) -> str:
        """What the worker wrote to ``stream`` since the last call (at most 256 kB of it)."""
        fd = self._streams[stream]
        end = os.fstat(fd).st_size
        start = max(self._offsets[stream], end - 256 * 1024)
        text = os.pread(fd, end - start, start).decode(errors="replace") if end > start else ""
        dropped = start > self._offsets[stream]
        self._offsets[stream] = end
        return ("[… earlier output dropped]\n" + text) if dropped else text

    def close(self) -> None:
        """End the worker and every process of its sandbox; remove its work directory."""
        if self._closed:
            return
        self._closed = True
        for fd in (self._control, self._results, *self._streams.values()):
            os.close(fd)
        udf_process.end_child(self.child, self.uid)
        shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self.claimed, ignore_errors=True)


class UdfWorkers:
    """The workers of one run, keyed by dependency environment (see the module docs)."""

    def __init__(self, idle_seconds: float = 30.0) -> None:
        self.idle_seconds = idle_seconds
        self._idle: dict[str, list[UdfWorker]] = {}
        self._all: list[UdfWorker] = []
        self._lock = threading.Lock()
        self.started = 0
        """How many workers this pool has started."""
        self._closer = weakref.finalize(self, _close_all, self._all)

    def call(self, launch: dict[str, Any], value: Any, timeout: float) -> CallEnded:
        """Run one call on an idle worker for ``launch`` (started when there is none)."""
        key = json.dumps(launch, sort_keys=True)
        for _ in range(2):
            worker = self._take(key)
            reused = worker is not None
            if worker is None:
                worker = UdfWorker(launch, self.idle_seconds)
                with self._lock:
                    self._all.append(worker)
                    self.started += 1
            try:
                ended = worker.call(value, timeout)
            except udf_protocol.ProtocolError:  # refused before the worker saw it
                with self._lock:
                    self._idle.setdefault(key, []).append(worker)
                raise
            if ended.out is not None and worker.alive():
                with self._lock:
                    self._idle.setdefault(key, []).append(worker)
                return ended
            with self._lock:
                self._all.remove(worker)
            # A reused worker that ended on its own (idle time just ran out) never saw
            # the call: run it once more on a new one.
            if not (reused and worker.child.returncode == 0):
                return ended
        return ended

    def _take(self, key: str) -> UdfWorker | None:
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker
                worker.close()
                self._all.remove(worker)
        return None

    def close(self) -> None:
        """End every worker of the pool."""
        self._closer()


def _close_all(workers: list[UdfWorker]) -> None:
    for worker in workers:
        worker.close()
    workers.clear()
