"""Development aids: inspect."""

from __future__ import annotations

from typing import Annotated, Any

import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.labeled import LabeledArray
from eostation.engine.registry import process
from eostation.engine.schema import Param


def describe_value(data: Any) -> Any:
    """A log-friendly view of a value: arrays and cubes by their shape, never computed."""
    if isinstance(data, LabeledArray):
        return {"labeled_array_along": data.dim, **describe_value(data.data)}
    if isinstance(data, xr.DataArray):
        return {
            "dims": list(data.dims),
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "lazy": data.chunks is not None,
        }
    return data


@process("inspect", categories=("development",))
def inspect(
    data: Annotated[Any, Param({})],
    *,
    message: Annotated[str, Param({"type": "string"})] = "",
    code: Annotated[str, Param({"type": "string"})] = "User",
    level: Annotated[
        str, Param({"type": "string", "enum": ["error", "warning", "info", "debug"]})
    ] = "info",
    env: EvalContext,
) -> Annotated[Any, Param({})]:
    """Write a value to the log of the job or request and pass it on unchanged.

    Cubes are logged by their dimensions and shape, so inspecting never forces a
    computation.

    Args:
        data: The value to log.
        message: A message to log with it.
        code: A code that identifies this log entry.
        level: Severity of the entry.

    Returns:
        `data`, unchanged.
    """
    env.log(level, message, {"code": code, "data": describe_value(data)})
    return data
