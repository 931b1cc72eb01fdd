"""The process engine: graph parsing and validation, evaluation, the process registry."""

from eostation.engine.context import Callback, EvalContext
from eostation.engine.labeled import LabeledArray
from eostation.engine.registry import ProcessDef, ProcessRegistry, default_registry, process

__all__ = [
    "Callback",
    "EvalContext",
    "LabeledArray",
    "ProcessDef",
    "ProcessRegistry",
    "default_registry",
    "process",
]
