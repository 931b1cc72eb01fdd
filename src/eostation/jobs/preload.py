"""What a Dask worker imports before its first task, so that task is not slow.

A fresh worker process used to spend its first job's seconds importing the process
implementations, the readers and writers and GDAL (the first run of each worker in
``bench_distributed`` took 16.9 s against 3.9 s later). Two paths load them:

- ``eostation dask-worker`` starts ``dask worker`` with ``--preload`` naming this module,
  so every worker process, also one that joins later or restarts, imports them before
  it registers with the scheduler;
- a runner's warm-up calls :func:`preload` on the workers it sees (``Client.run``),
  which covers the local cluster and plain ``dask worker`` processes.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MODULES", "dask_setup", "preload"]

MODULES = (
    "eostation.engine.processes",
    "eostation.engine.processes.chunk_reducers",
    "eostation.data.demo.source",
    "eostation.data.files.cube",
    "eostation.formats.gtiff",
    "rasterio",
    "xarray.backends.zarr",  # files and archive collections in Zarr: zarr, numcodecs, fsspec
    "zarr",
)
"""The modules that computing a job's chunks needs."""


def preload() -> None:
    """Import :data:`MODULES` (runs on a Dask worker)."""
    for name in MODULES:
        importlib.import_module(name)


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: called in the worker process before it joins the scheduler."""
    preload()
