"""load_collection from an archive-backed collection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eostation.archive import Archive
from eostation.data.archive_source import ArchiveSource, archive_collection
from eostation.data.base import CollectionSource, LoadRequest
from eostation.errors import ProcessParameterInvalid

from .conftest import make_cube


def test_archive_source_loads_a_cube(tmp_path: Path) -> None:
    cube = make_cube(
        (10.0, 45.0, 10.04, 45.03),
        0.0002,
        ["2023-06-01", "2023-06-06"],
        lambda x, y, k: 5.0 + k + 0 * x * y,
    )
    Archive(tmp_path / "a.zarr").ingest(cube)
    source = archive_collection({"id": "ARCH", "path": "a.zarr", "resolution": 0.0005}, tmp_path)
    assert isinstance(source, CollectionSource)
    meta = source.metadata()
    assert meta["cube:dimensions"]["bands"]["values"] == ["a", "b"]
    assert meta["extent"]["temporal"]["interval"][0][0].startswith("2023-06-01")
    out = source.load(
        LoadRequest(bbox=(10.01, 45.01, 10.03, 45.02), temporal=("2023-06-05", None), bands=["b"])
    )
    assert out.dims == ("t", "bands", "y", "x") and out.sizes["t"] == 1
    assert out.odc.geobox.crs.epsg == 4326 and out.sizes["x"] == 40 and out.sizes["y"] == 20
    np.testing.assert_allclose(out.values, 5.0 + 1 + 100, rtol=1e-6)
    with pytest.raises(ProcessParameterInvalid):
        source.load(LoadRequest(bbox=(10.01, 45.01, 10.03, 45.02), temporal=("2024-01-01", None)))
    assert isinstance(ArchiveSource("X", tmp_path / "a.zarr"), CollectionSource)


def test_collections_toml_registers_an_archive(tmp_path: Path) -> None:
    from eostation.data.registry import build_registry

    cube = make_cube(
        (10.0, 45.0, 10.02, 45.02), 0.0002, ["2023-06-01"], lambda x, y, k: 7.0 + 0 * x * y
    )
    Archive(tmp_path / "mine.zarr").ingest(cube)
    (tmp_path / "collections.toml").write_text(
        '[[collections]]\ntype = "archive"\nid = "MY_ARCHIVE"\npath = "mine.zarr"\nresolution = 0.0005\n'
    )
    registry = build_registry(tmp_path)
    assert "MY_ARCHIVE" in registry.ids() and "SENTINEL2_L2A" in registry.ids()
    out = registry.get("MY_ARCHIVE").load(
        LoadRequest(bbox=(10.005, 45.005, 10.015, 45.015), bands=["a"])
    )
    np.testing.assert_allclose(out.values, 7.0, rtol=1e-6)
