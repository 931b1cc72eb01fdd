"""Engine work of a request (``/result``, ``/estimate``, ``/validation``) off the event loop
and off the shared thread pool, stopped when the client goes away.

Estimates and validations run in worker processes (:class:`eostation.jobs.graphpool.
GraphPool`, see there why); ``/result`` and map tiles run in threads of this process.

FastAPI runs every plain ``def`` route and dependency in one thread pool of 40 threads;
40 slow estimates would leave none for ``/.well-known/openeo``. Engine work therefore
runs in its own bounded pool (``EOSTATION_LIMITS__CONCURRENT_REQUESTS`` threads; more
requests wait in line without holding a thread), and the waiting route polls the
connection: once the client has disconnected, the work's ``cancelled()`` turns True (the
engine stops before the next node, the writers before the next dask task) and work that
has not started yet never starts. For work in a worker process, the worker is killed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

from eostation.jobs.graphpool import GraphPool, UdpLookup

__all__ = ["ClientGone", "HeavyWork"]

T = TypeVar("T")

_POLL_SECONDS = 0.2


class ClientGone(Exception):
    """The client disconnected before the work finished; the work was cancelled."""


class HeavyWork:
    """A bounded pool for engine work; see the module docs."""

    def __init__(self, workers: int, graphs: GraphPool) -> None:
        self.workers = workers
        self.graphs = graphs
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="eostation-engine")
        self._stopping = threading.Event()

    async def in_process(
        self, request: Request, task: dict[str, Any], document: str, udp: UdpLookup | None
    ) -> Any:
        """A graph task about the JSON text ``document`` (:mod:`eostation.jobs.graphworker`)
        in a worker process; raises :class:`ClientGone` (after killing the worker) if the
        client leaves."""
        running = asyncio.ensure_future(self.graphs.run(task, udp, document))
        return await _until_gone(request, running)

    async def run(self, request: Request, work: Callable[[Callable[[], bool]], T]) -> T:
        """``work(cancelled)`` in the pool; raises :class:`ClientGone` if the client leaves.

        ``cancelled()`` also turns True when the server shuts down or the request task
        is cancelled (uvicorn's graceful-shutdown timeout).
        """
        gone = threading.Event()

        def cancelled() -> bool:
            # The engine asks before every node and dask task; sleeping 0 s hands the GIL
            # to the event loop there, so pure-Python engine work cannot starve it.
            time.sleep(0)
            return gone.is_set() or self._stopping.is_set()

        future = self._pool.submit(work, cancelled)
        try:
            return await _until_gone(request, asyncio.wrap_future(future))
        except BaseException:
            gone.set()
            future.cancel()
            raise

    def stop(self) -> None:
        """Server shutdown: running work stops at its next check, queued work never starts."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.graphs.stop()


async def _until_gone(request: Request, waiting: asyncio.Future[T]) -> T:
    """The result of ``waiting``, polling the connection meanwhile; when the client has
    gone (or this task is cancelled), ``waiting`` is cancelled and :class:`ClientGone`
    (or the cancellation) raised."""
    try:
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=_POLL_SECONDS)
            if done:
                return waiting.result()
            if await request.is_disconnected():
                raise ClientGone()
    except BaseException:
        waiting.cancel()
        # Nobody awaits the result any more: retrieve it, so asyncio does not log it.
        waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
        raise
