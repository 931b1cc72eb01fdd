"""GeoTIFF band statistics, gathered while writing, in the file and in the STAC asset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from eostation.formats import default_formats
from eostation.formats import gtiff as gtiff_module
from eostation.formats.bandstats import BandStatistics

from .conftest import raster

REGISTRY = default_formats()


@pytest.mark.parametrize("streamed", [False, True])
def test_statistics_tags_and_raster_bands(
    tmp_path: Path, streamed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if streamed:  # through the scratch file, chunk by chunk
        monkeypatch.setattr(gtiff_module, "_IN_MEMORY_BYTES", 0)
    cube = raster(dates=None, chunks=streamed)
    keep = np.ones(cube.shape, bool)
    keep[0, 0, :3] = False  # no-data pixels must not count
    cube = cube.where(keep)
    values = cube.values.astype("float64")
    [f] = REGISTRY.get_writer("GTiff").write(cube, tmp_path, {})
    stac = f.stac_asset()["raster:bands"]
    with rasterio.open(f.path) as ds:
        for i in range(ds.count):
            band = values[i]
            tags = ds.tags(i + 1)
            expected = {
                "MINIMUM": np.nanmin(band),
                "MAXIMUM": np.nanmax(band),
                "MEAN": np.nanmean(band),
                "STDDEV": np.nanstd(band),
            }
            for key, value in expected.items():
                assert float(tags[f"STATISTICS_{key}"]) == pytest.approx(float(value), rel=1e-9)
                assert stac[i]["statistics"][key.lower()] == pytest.approx(float(value), rel=1e-9)
            valid = 100.0 * np.isfinite(band).sum() / band.size
            assert stac[i]["statistics"]["valid_percent"] == pytest.approx(valid)
            assert stac[i]["data_type"] == "float32" and stac[i]["nodata"] == "nan"
    assert stac[0]["statistics"]["minimum"] == 3.0  # row 0, columns 0-2 were no-data


def test_merged_blocks_equal_one_pass() -> None:
    rng = np.random.default_rng(5)
    data = (rng.normal(1e4, 3.0, (2, 60, 70))).astype("float64")
    stats = BandStatistics(2)
    for rows in (slice(0, 17), slice(17, 60)):
        for cols in (slice(0, 33), slice(33, 70)):
            stats.add(data[:, rows, cols])
    for i in range(2):
        summary = stats.summary(i)
        assert summary is not None
        assert summary["mean"] == pytest.approx(data[i].mean(), rel=1e-12)
        assert summary["stddev"] == pytest.approx(data[i].std(), rel=1e-9)


def test_integer_nodata_is_skipped_and_empty_bands_have_no_statistics() -> None:
    stats = BandStatistics(2, nodata=0)
    block = np.array([[[0, 5], [7, 0]], [[0, 0], [0, 0]]], dtype="uint16")
    stats.add(block)
    assert stats.summary(0) == {
        "minimum": 5.0, "maximum": 7.0, "mean": 6.0, "stddev": 1.0, "valid_percent": 50.0,
    }  # fmt: skip
    assert stats.summary(1) is None and stats.gdal_tags(1) == {}
