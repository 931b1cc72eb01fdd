"""The contract every output format fulfils, as a test class (zarr's ``StoreTests``).

A format passes :class:`WriterTests` by subclassing it with ``format_name`` (as in
``save_result``), a ``cube`` fixture (what it writes; one value is NaN) and
:meth:`WriterTests.read_back`, which opens the written files with the reference reader
of the format (rasterio, xarray, pandas, geopandas, Pillow, ``json``) — never with
eostation's own code — and returns what they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import xarray as xr

from eostation.formats import default_formats
from eostation.formats.output import OutputFile
from eostation.formats.writer import Writer

__all__ = ["ReadBack", "WriterTests"]


@dataclass
class ReadBack:
    """What the written files hold: values in the cube's dimension order (NaN where the
    file says nodata), band names (None when the format has none) and EPSG code (None
    when the format carries no CRS)."""

    values: np.ndarray
    bands: list[str] | None
    epsg: int | None


_WRITTEN: dict[type, ReadBack] = {}


class WriterTests:
    """Every output format must pass these."""

    format_name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}
    # The EPSG code the files must carry, None for formats without a CRS.
    epsg: ClassVar[int | None] = None
    # False for formats that cannot name bands (PNG): then the names must not come back.
    has_band_names: ClassVar[bool] = True

    @pytest.fixture
    def cube(self) -> xr.DataArray:
        raise NotImplementedError

    def read_back(self, files: list[OutputFile], cube: xr.DataArray) -> ReadBack:
        raise NotImplementedError

    def expected_values(self, cube: xr.DataArray) -> np.ndarray:
        """The values the files should hold (the cube's, unless the format transforms)."""
        return np.asarray(cube.values, dtype="float64")

    @pytest.fixture
    def writer(self) -> Writer:
        return default_formats().get_writer(self.format_name)

    @pytest.fixture
    def written(
        self, writer: Writer, cube: xr.DataArray, tmp_path_factory: pytest.TempPathFactory
    ) -> ReadBack:
        """Written once per test class; every test below checks one aspect of the files."""
        if type(self) not in _WRITTEN:
            files = writer.write(cube, tmp_path_factory.mktemp("out"), dict(self.options))
            assert files and all(f.path.exists() for f in files)
            _WRITTEN[type(self)] = self.read_back(files, cube)
        return _WRITTEN[type(self)]

    def test_cube_has_a_nodata_value(self, cube: xr.DataArray) -> None:
        assert np.isnan(cube.values).sum() == 1  # what test_nodata_is_kept relies on

    def test_values_read_back_equal(self, written: ReadBack, cube: xr.DataArray) -> None:
        expected = self.expected_values(cube)
        assert written.values.shape == expected.shape
        np.testing.assert_allclose(written.values, expected, rtol=1e-6, equal_nan=True)

    def test_nodata_is_kept(self, written: ReadBack, cube: xr.DataArray) -> None:
        np.testing.assert_array_equal(np.isnan(written.values), np.isnan(cube.values))

    def test_crs(self, written: ReadBack) -> None:
        assert written.epsg == self.epsg

    def test_band_names(self, written: ReadBack, cube: xr.DataArray) -> None:
        if not self.has_band_names:
            assert written.bands is None
            return
        assert written.bands == [str(b) for b in cube["bands"].values]
