"""Imported once by the forkserver of the graph workers (:mod:`eostation.jobs.graphpool`):
loads every process module, format writer and demo source, so that a worker forked from
it builds its registries in milliseconds instead of a second of imports. This matters when
workers are replaced often: every abandoned estimate kills its worker."""

from eostation.data.registry import build_registry
from eostation.engine.registry import default_registry
from eostation.formats.registry import default_formats
from eostation.jobs import graphworker

__all__ = ["graphworker"]

# Import side effects only (the registries are thrown away): each worker builds its own.
default_registry().load_all()
default_formats().load_all()
build_registry()
