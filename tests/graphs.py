"""Process graph pieces that several tests build the same way."""

from __future__ import annotations

from typing import Any


def mean_reducer() -> dict[str, Any]:
    """A reducer callback that takes the ``mean`` of its ``data`` (a fresh dict each call)."""
    return {
        "process_graph": {
            "m": {
                "process_id": "mean",
                "arguments": {"data": {"from_parameter": "data"}},
                "result": True,
            }
        }
    }


def reduce_mean(data: dict[str, Any], dimension: str = "t") -> dict[str, Any]:
    """A ``reduce_dimension`` node: the mean of ``data`` (a reference) along ``dimension``."""
    return {
        "process_id": "reduce_dimension",
        "arguments": {"data": data, "dimension": dimension, "reducer": mean_reducer()},
    }
