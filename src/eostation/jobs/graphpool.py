"""Estimates and validations in worker processes, so that their CPU-bound pure-Python
work never pauses the API process.

Evaluating the largest allowed graph (10,000 nodes) takes seconds of one core, most of it
pure Python with long C calls in between (parsing, garbage collection of the node
structures) during which a thread holds the GIL: in a thread of the API process, 100
concurrent estimates kept ``/.well-known/openeo`` waiting up to 218 ms at p99. In a
worker process they cost the API process nothing but a pipe.

The pool holds up to ``size`` workers (``EOSTATION_LIMITS__CONCURRENT_REQUESTS``),
started on first use with ``forkserver`` (never a fork of the threaded server); more
tasks wait for a free worker without holding a thread. Tasks travel as JSON (see
:mod:`eostation.jobs.graphworker`), and the worker asks for the user's stored processes
when the graph calls one, so only those are read. A task that is abandoned (the caller
is cancelled: its client went away) kills its worker at once; so does a server stop. A
worker that dies (killed, out of memory, a crash in a C library) answers
``ProcessGraphComplexity`` (400) instead of a 5xx, and its slot starts a new worker on
next use. Errors keep their openEO code and message across the pipe.

``POST /result`` stays in threads of the API process (:mod:`eostation.api.heavy`): it
writes files into the request's folder, drives dask (whose own threads release the GIL
in numpy) and streams the file back, and its graph evaluation is cheap next to the
computation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from eostation.config import Settings
from eostation.engine.context import Cancelled
from eostation.errors import OpenEOError, ProcessGraphComplexity, ServiceUnavailable

__all__ = ["GraphPool", "WorkerFailure", "relayed_error"]

UdpLookup = Callable[[str], dict[str, Any] | None]

# The forkserver imports this once; each worker it forks then starts in milliseconds.
_PRELOAD = ["eostation.jobs.graphpreload"]


class WorkerFailure(Exception):
    """A bug in a worker: its traceback, raised in the API process (logged there, 500)."""


class _WorkerGone(Exception):
    """The worker's pipe closed: the process died."""


def relayed_error(error: dict[str, Any]) -> OpenEOError:
    """The :class:`OpenEOError` a worker reported: same class (by code), status and message."""
    code, status, message = error["code"], int(error["status"]), str(error["message"])
    cls: type[OpenEOError] = _error_class(code) or type(
        "RelayedError", (OpenEOError,), {"code": code, "status": status}
    )
    # Built without its constructor: the message is final (constructors format templates).
    relayed: OpenEOError = cls.__new__(cls)
    Exception.__init__(relayed, message)
    relayed.params, relayed.message = {}, message
    relayed.retry_after = error.get("retry_after")
    return relayed


def _error_class(code: str) -> type[OpenEOError] | None:
    todo = list(OpenEOError.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.code == code and not cls.__name__.startswith("_"):
            return cls
        todo.extend(cls.__subclasses__())
    return None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    async def receive(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, _settle, readable)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        try:
            message: dict[str, Any] = json.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise _WorkerGone() from None
        return message

    async def send(self, message: dict[str, Any], document: str | None = None) -> None:
        data = json.dumps(message).encode()
        if document is not None:  # sent as it is: JSON text has no raw newline
            data += b"\n" + document.encode()
        try:
            # A large graph fills the pipe: wait for the worker to drain it in a thread.
            await asyncio.to_thread(self.conn.send_bytes, data)
        except OSError:
            raise _WorkerGone() from None

    async def exchange(
        self, task: dict[str, Any], udp: UdpLookup | None, document: str | None
    ) -> Any:
        await self.send(task, document)
        while True:
            message = await self.receive()
            if "udp" in message:
                found = None if udp is None else await asyncio.to_thread(udp, message["udp"])
                await self.send({"definition": found})
            elif "value" in message:
                return message["value"]
            elif "error" in message:
                raise relayed_error(message["error"])
            else:
                raise WorkerFailure(message.get("failure", "unexpected message"))

    def terminate(self) -> None:
        """Kill the process; a task waiting on its pipe then sees it gone."""
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
            self.process.join(1)  # reaps it: killed processes end at once

    def kill(self) -> None:
        self.terminate()
        self.conn.close()


def _kill_spawned(spawning: asyncio.Future[_Worker]) -> None:
    if not spawning.cancelled() and spawning.exception() is None:
        spawning.result().kill()


class GraphPool:
    """Worker processes for estimates and validations; see the module docs.

    Usable from several event loops (each ``TestClient`` request may run its own): the
    slots are counted under a lock and handed to waiters in their own loop.
    """

    def __init__(self, settings: Settings, size: int | None = None) -> None:
        self.size = size or settings.limits.concurrent_requests
        self._settings = settings
        self._context = multiprocessing.get_context("forkserver")
        self._lock = threading.Lock()
        self._running = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._stopped = False

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers if w.process.pid is not None]

    async def run(
        self, task: dict[str, Any], udp: UdpLookup | None = None, document: str | None = None
    ) -> Any:
        """The worker's answer to ``task``; raises the openEO error it reported.

        ``document`` is JSON text the worker parses (a job's stored graph, a request
        body): a large graph parsed here would hold this process's GIL, and thousands of
        its objects waiting here for a free worker would slow every garbage collection.

        Cancelling the caller kills the worker that runs the task. After :meth:`stop`,
        raises :class:`Cancelled`.
        """
        await self._acquire()
        try:
            return await self._run(task, udp, document)
        finally:
            self._release()

    async def _run(self, task: dict[str, Any], udp: UdpLookup | None, document: str | None) -> Any:
        if self._stopped:
            raise Cancelled()
        worker = self._take_idle() or await self._start()
        with self._lock:
            self._busy.add(worker)
        # The settings of this moment (as the API's own ``Services.limits()``): a worker
        # started earlier rebuilds its registries and limits when they differ.
        task = {**task, "settings": self._settings.model_dump_json()}
        try:
            value = await worker.exchange(task, udp, document)
        except _WorkerGone:
            self._drop(worker)
            if self._stopped:
                raise Cancelled() from None
            raise ProcessGraphComplexity(
                reason=f"its evaluation ended the worker process (exit code "
                f"{worker.process.exitcode}), e.g. by running out of memory"
            ) from None
        except (OpenEOError, WorkerFailure):
            self._keep(worker)  # it answered: still good
            raise
        except BaseException:
            self._drop(worker)  # abandoned (cancelled): stop its work now
            raise
        self._keep(worker)
        return value

    def _take_idle(self) -> _Worker | None:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.conn.close()  # died while idle (killed from outside): replace it
        return None

    def _keep(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if self._stopped:
                worker.kill()
            else:
                self._idle.append(worker)

    def _drop(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._running < self.size and not self._waiters:
                self._running += 1
                return
            handed: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, handed))
        try:
            await handed
        except BaseException:
            with self._lock:
                if (loop, handed) in self._waiters:
                    self._waiters.remove((loop, handed))
                    raise
            if not handed.cancelled():
                self._release()  # handed over just as this waiter left: pass it on
            raise  # (cancelled: _hand_over passes the slot on)

    def _release(self) -> None:
        with self._lock:
            while self._waiters:
                loop, handed = self._waiters.popleft()
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self._hand_over, handed)
                    return
            self._running -= 1

    def _hand_over(self, handed: asyncio.Future[None]) -> None:
        if handed.done():  # cancelled meanwhile: the slot goes to the next one
            self._release()
        else:
            handed.set_result(None)

    async def _start(self) -> _Worker:
        spawning = asyncio.ensure_future(asyncio.to_thread(self._spawn))
        try:
            # Shielded: a task cancelled meanwhile must still kill what its thread starts.
            worker = await asyncio.shield(spawning)
        except BaseException:
            spawning.add_done_callback(_kill_spawned)
            raise
        try:
            await worker.receive()  # {"ready": pid}: its registries are built
        except _WorkerGone:
            worker.kill()
            # Not the graph's fault (it was not sent yet): the machine is short of memory
            # or processes.
            raise ServiceUnavailable(
                reason="a graph worker could not start", retry_after=5
            ) from None
        except BaseException:
            worker.kill()
            raise
        return worker

    def _spawn(self) -> _Worker:
        from eostation.jobs import graphworker

        self._context.set_forkserver_preload(_PRELOAD)
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=graphworker.serve,
            args=(child, self._settings.model_dump_json()),
            name="eostation-graphs",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def stop(self) -> None:
        """Server shutdown: kill every worker; waiting and later tasks raise ``Cancelled``."""
        with self._lock:
            self._stopped = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for worker in idle:
            worker.kill()
        for worker in busy:
            worker.terminate()  # its task wakes up on the closed pipe and cleans up
