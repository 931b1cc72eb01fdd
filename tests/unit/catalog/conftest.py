"""Fixtures shared by the catalogue tests."""

from __future__ import annotations

import pytest

from eostation.catalog.odata.package import ProductPackages
from eostation.data.registry import build_registry


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> ProductPackages:
    """Product packages over the demo world, at most 24 pixels a side, cached per module."""
    return ProductPackages(build_registry(None), tmp_path_factory.mktemp("odata"), 24)
