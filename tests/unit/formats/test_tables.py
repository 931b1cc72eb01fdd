"""CSV and GeoParquet, read back with pandas and geopandas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from eostation.formats import FormatUnsuitable, default_formats

from .conftest import raster, vector

REGISTRY = default_formats()


def test_csv_vector_cube_rows(tmp_path: Path) -> None:
    [f] = REGISTRY.get_writer("csv").write(vector(), tmp_path, {})
    assert f.name == "openEO.csv" and f.media_type == "text/csv"
    assert f.bands == ("B04", "B08")
    assert f.extra["eostation:geometry_names"] == ["field-a", "field-b"]
    df = pd.read_csv(f.path)
    assert list(df.columns) == ["feature_index", "feature_id", "date", "B04", "B08"]
    assert len(df) == 6
    # value = 100*t + 10*geometry + band
    row = df[(df.feature_index == 1) & (df.date == "2022-09-12T00:00:00Z")].iloc[0]
    assert row.feature_id == "field-b" and row.B04 == 110 and row.B08 == 111
    missing = df[(df.feature_index == 1) & (df.date == "2022-09-07T00:00:00Z")].iloc[0]
    assert np.isnan(missing.B04)


def test_csv_without_time_or_bands(tmp_path: Path) -> None:
    [f] = REGISTRY.get_writer("CSV").write(vector(dates=None, bands=None), tmp_path, {})
    df = pd.read_csv(f.path)
    assert list(df.columns) == ["feature_index", "feature_id", "value"]
    assert df["value"].tolist()[0] == 0 and np.isnan(df["value"].tolist()[1])


@pytest.mark.parametrize(
    ("value", "columns", "first_row"),
    [
        (3.5, ["value"], [3.5]),
        ([1, 2, 3], ["value"], [1]),
        ([[1, 2], [3, 4]], ["column_0", "column_1"], [1, 2]),
        ({"a": [1, 2], "b": ["x", "y"]}, ["a", "b"], [1, "x"]),
    ],
)
def test_csv_plain_values(
    tmp_path: Path, value: object, columns: list[str], first_row: list[object]
) -> None:
    [f] = REGISTRY.get_writer("CSV").write(value, tmp_path, {})
    df = pd.read_csv(f.path)
    assert list(df.columns) == columns and df.iloc[0].tolist() == first_row


@pytest.mark.parametrize("value", [[[1, 2], [3]], np.zeros((2, 2, 2))])
def test_csv_unsuitable_values(tmp_path: Path, value: object) -> None:
    with pytest.raises(FormatUnsuitable):
        REGISTRY.get_writer("CSV").write(value, tmp_path, {})


def test_csv_raster_is_unsuitable(tmp_path: Path) -> None:
    with pytest.raises(FormatUnsuitable, match="aggregate_spatial"):
        REGISTRY.get_writer("CSV").write(raster(), tmp_path, {})


def test_geoparquet_round_trip(tmp_path: Path) -> None:
    cube = vector()
    [f] = REGISTRY.get_writer("geoparquet").write(cube, tmp_path, {"filename_prefix": "stats"})
    assert f.name == "stats.parquet" and f.extra["proj:epsg"] == 4326
    gdf = gpd.read_parquet(f.path)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf.columns) == ["feature_index", "feature_id", "date", "B04", "B08", "geometry"]
    row = gdf[(gdf.feature_index == 1) & (gdf.date == "2022-09-17T00:00:00Z")].iloc[0]
    assert row.B08 == 211 and row.geometry.equals(cube["geometries"].values[1])
    assert gdf[gdf.feature_index == 0].geometry.iloc[0].equals(cube["geometries"].values[0])


def test_geoparquet_needs_vector_cube(tmp_path: Path) -> None:
    with pytest.raises(FormatUnsuitable):
        REGISTRY.get_writer("GeoParquet").write(raster(), tmp_path, {})
