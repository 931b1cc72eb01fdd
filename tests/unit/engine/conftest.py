"""Shared fixtures for the engine tests: where the official specs live."""

from __future__ import annotations

from pathlib import Path

import pytest

SPECS = (Path(__file__).parents[3] / "../shared/specs/openeo-processes").resolve()


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The official openEO process specs; skips when ../shared is absent."""
    if not SPECS.is_dir():
        pytest.skip(f"official process specs not found at {SPECS}")
    return SPECS
