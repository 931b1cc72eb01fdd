"""Every collection source passes :class:`~tests.unit.data.conformance.CollectionSourceTests`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eostation.archive import Archive
from eostation.data.archive_source import archive_collection
from eostation.data.base import CollectionSource, LoadRequest
from eostation.data.files import file_collection
from eostation.data.registry import build_registry
from eostation.data.stac import stac_collection
from eostation.errors import ProcessParameterInvalid
from tests.conftest import shared_path
from tests.unit.archive.conftest import make_cube

from .conformance import CollectionSourceTests

MOL_BANDS = [
    {"name": "B04", "source": 1, "common_name": "red", "wavelength": 0.665},
    {"name": "B03", "source": 2, "common_name": "green", "wavelength": 0.56},
    {"name": "B02", "source": 3, "common_name": "blue", "wavelength": 0.49},
]
# Inside the three Mol GeoTIFFs of ../shared (EPSG:32631, 10 m, 2023-06-01 … 06-06).
MOL_BBOX = (5.072, 51.216, 5.078, 51.219)

# The pixel-centre extent rule (openEO load_collection: a pixel is loaded when its centre
# intersects the extent) is being fixed by the fid-orbits engineer in wave 2; until that
# lands these sources load the pixels that the bbox only touches, and the test runs as a
# strict xfail. When it passes, delete the attribute of the fixed source.
_BUILT: dict[str, CollectionSource] = {}


def _mol() -> Path:
    return shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")


class TestDemoSource(CollectionSourceTests):
    @pytest.fixture
    def source(self) -> CollectionSource:
        return build_registry().get("SENTINEL2_L2A")

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        return LoadRequest(
            bbox=(11.0, 46.0, 11.01, 46.01), temporal=("2022-06-01", "2022-06-20"), bands=["B04"]
        )

    @pytest.fixture
    def common_name(self) -> tuple[str, str]:
        return "B08", "nir"


class TestDemoLstSource(CollectionSourceTests):
    """``SENTINEL3_SLSTR_L2_LST``: a demo collection whose bands have no common names."""

    @pytest.fixture
    def source(self) -> CollectionSource:
        return build_registry().get("SENTINEL3_SLSTR_L2_LST")

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        return LoadRequest(
            bbox=(11.0, 46.0, 11.1, 46.1), temporal=("2022-06-01", "2022-06-04"), bands=["LST"]
        )

    def test_band_is_selected_by_common_name(  # type: ignore[override]
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        """LST products carry no spectral band: a common name selects nothing."""
        assert all(b.common_name is None for b in source.bands)
        with pytest.raises(ProcessParameterInvalid, match="bands"):
            source.load(dataclasses.replace(load_request, bands=["lwir11"]))


class TestFileSource(CollectionSourceTests):
    @pytest.fixture
    def source(self) -> CollectionSource:
        date = {"regex": r"openEO_(?P<date>\d{4}-\d{2}-\d{2})Z", "format": "%Y-%m-%d"}
        entry = {"id": "MOL", "paths": "openEO_*.tif", "date": date, "bands": MOL_BANDS}
        return file_collection(entry, _mol())

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        return LoadRequest(bbox=MOL_BBOX, temporal=("2023-06-01", "2023-06-07"), bands=["B02"])

    @pytest.fixture
    def common_name(self) -> tuple[str, str]:
        return "B04", "red"


class TestStacSource(CollectionSourceTests):
    @pytest.fixture
    def source(self) -> CollectionSource:
        entry = {
            "id": "MOL_STAC",
            "type": "stac",
            "url": str(_mol() / "collection.json"),
            "bands": [{**b, "source": b["name"]} for b in MOL_BANDS],
        }
        return stac_collection(entry, _mol())

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        return LoadRequest(bbox=MOL_BBOX, temporal=("2023-06-01", "2023-06-07"), bands=["B02"])

    @pytest.fixture
    def common_name(self) -> tuple[str, str]:
        return "B04", "red"


class TestArchiveSource(CollectionSourceTests):
    @pytest.fixture
    def source(self, tmp_path_factory: pytest.TempPathFactory) -> CollectionSource:
        # Ingested once for the class: an ingest takes about a second.
        if "archive" in _BUILT:
            return _BUILT["archive"]
        tmp_path = tmp_path_factory.mktemp("archive")
        cube = make_cube(
            (10.0, 45.0, 10.04, 45.03),
            0.0002,
            ["2023-06-01", "2023-06-06"],
            lambda x, y, k: 5.0 + k + 0 * x * y,
        )
        Archive(tmp_path / "a.zarr").ingest(cube)
        entry = {"id": "ARCH", "type": "archive", "path": "a.zarr", "resolution": 0.0005}
        _BUILT["archive"] = archive_collection(entry, tmp_path)
        return _BUILT["archive"]

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        return LoadRequest(
            bbox=(10.01, 45.01, 10.03, 45.02), temporal=("2023-06-01", None), bands=["b"]
        )

    @pytest.fixture
    def common_name(self) -> tuple[str, str]:
        pytest.skip("archive bands carry no common names")
