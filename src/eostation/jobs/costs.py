"""Usage metrics and the cost model.

Costs are in ``credits`` (the currency in ``GET /``). The model is deliberately simple
and the same for estimates and for the final bill:

=====================  =======================================
what                   credits
=====================  =======================================
each run of a job      ``BASE`` = 0.01
one CPU second         ``CPU_SECOND`` = 0.001 (3.6 per CPU hour)
one million input px   ``MEGAPIXEL`` = 0.0005
one GB of output       ``GIGABYTE`` = 0.01
=====================  =======================================

An estimate predicts CPU seconds from the input size (``PIXELS_PER_CPU_SECOND``) and
output size from the lazily evaluated result (uncompressed, so an upper bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BASE",
    "CPU_SECOND",
    "GIGABYTE",
    "MEGAPIXEL",
    "PIXELS_PER_CPU_SECOND",
    "Usage",
    "costs_of",
    "iso_duration",
]

BASE: Final = 0.01
CPU_SECOND: Final = 0.001
MEGAPIXEL: Final = 0.0005
GIGABYTE: Final = 0.01
PIXELS_PER_CPU_SECOND: Final = 20e6
"""Throughput assumed by estimates (input pixels processed per CPU second)."""


@dataclass(frozen=True)
class Usage:
    """What one run consumed."""

    cpu_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    duration_seconds: float = 0.0
    input_pixels: int = 0
    output_bytes: int = 0

    def to_api(self) -> dict[str, dict[str, Any]]:
        """The openEO ``usage`` object (``{metric: {value, unit}}``)."""
        return {
            "cpu": {"value": round(self.cpu_seconds, 3), "unit": "cpu-seconds"},
            "memory": {"value": round(self.peak_memory_mb, 1), "unit": "mb"},
            "duration": {"value": round(self.duration_seconds, 3), "unit": "seconds"},
            "input_pixels": {"value": self.input_pixels, "unit": "pixels"},
            "storage": {"value": self.output_bytes, "unit": "b"},
        }


def costs_of(cpu_seconds: float, input_pixels: int, output_bytes: int) -> float:
    """Credits for a run with these figures (see the module docs)."""
    total = (
        BASE
        + CPU_SECOND * cpu_seconds
        + MEGAPIXEL * input_pixels / 1e6
        + GIGABYTE * output_bytes / 1e9
    )
    return round(total, 6)


def iso_duration(seconds: float) -> str:
    """``seconds`` as an ISO 8601 duration (``PT1M2.5S``)."""
    seconds = max(0.0, seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    return out + f"{round(secs, 3):g}S"
