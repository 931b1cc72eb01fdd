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


def load_s2(
    bbox: dict[str, float], interval: list[str], bands: list[str] | None = None
) -> dict[str, Any]:
    """A ``load_collection`` node of the demo ``SENTINEL2_L2A`` (band B04 unless given)."""
    return {
        "process_id": "load_collection",
        "arguments": {
            "id": "SENTINEL2_L2A",
            "spatial_extent": bbox,
            "temporal_extent": interval,
            "bands": bands or ["B04"],
        },
    }


def save(data_node: str, fmt: str) -> dict[str, Any]:
    """The result node ``save_result`` of ``data_node`` in format ``fmt``."""
    return {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": data_node}, "format": fmt},
        "result": True,
    }
