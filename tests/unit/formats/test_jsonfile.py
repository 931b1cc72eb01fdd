from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from openeo.rest.conversions import timeseries_json_to_pandas

from eostation.formats import FormatUnsuitable, default_formats

from .conftest import raster, vector

WRITER = default_formats().get_writer("json")


def _read(path: Path) -> object:
    return json.loads(path.read_text())


def test_timeseries_shape_and_client_conversion(tmp_path: Path) -> None:
    [f] = WRITER.write(vector(), tmp_path, {})
    assert f.name == "openEO.json" and f.media_type == "application/json"
    body = _read(f.path)
    assert isinstance(body, dict)
    assert list(body) == ["2022-09-07T00:00:00Z", "2022-09-12T00:00:00Z", "2022-09-17T00:00:00Z"]
    # value = 100*t + 10*geometry + band; NaN at (t0, g1, band0) -> null
    assert body["2022-09-12T00:00:00Z"] == [[100.0, 101.0], [110.0, 111.0]]
    assert body["2022-09-07T00:00:00Z"][1] == [None, 11.0]

    df = timeseries_json_to_pandas(body)
    assert df.loc["2022-09-17T00:00:00Z", (1, 1)] == 211.0
    assert df.loc["2022-09-12T00:00:00Z", (0, 0)] == 100.0
    assert math.isnan(df.loc["2022-09-07T00:00:00Z", (1, 0)])
    assert df.shape == (3, 4)


def test_timeseries_metadata(tmp_path: Path) -> None:
    [f] = WRITER.write(vector(), tmp_path, {})
    assert f.bands == ("B04", "B08")
    assert f.extra["eostation:geometry_names"] == ["field-a", "field-b"]
    assert f.extra["eostation:geometry_count"] == 2


def test_timeseries_without_bands_collapses_in_client(tmp_path: Path) -> None:
    [f] = WRITER.write(vector(bands=None), tmp_path, {})
    body = _read(f.path)
    assert isinstance(body, dict)
    assert body["2022-09-17T00:00:00Z"] == [[200.0], [210.0]]
    s = timeseries_json_to_pandas(body)
    assert s.loc["2022-09-17T00:00:00Z", 1] == 210.0


def test_timeseries_geometry_order_is_kept_when_transposed(tmp_path: Path) -> None:
    [f] = WRITER.write(vector().transpose("bands", "geometries", "t"), tmp_path, {})
    body = _read(f.path)
    assert isinstance(body, dict)
    assert body["2022-09-17T00:00:00Z"] == [[200.0, 201.0], [210.0, 211.0]]


def test_vector_cube_without_time(tmp_path: Path) -> None:
    [f] = WRITER.write(vector(dates=None), tmp_path, {})
    assert _read(f.path) == [[0.0, 1.0], [None, 11.0]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, 42),
        (np.float32(1.5), 1.5),
        (float("nan"), None),
        ([1, float("inf"), None], [1, None, None]),
        (np.array([[1, 2], [3, 4]], dtype="int16"), [[1, 2], [3, 4]]),
        (
            {"a": np.datetime64("2022-09-07"), "b": dt.date(2022, 9, 8)},
            {"a": "2022-09-07T00:00:00Z", "b": "2022-09-08"},
        ),
        ("text", "text"),
        (None, None),
    ],
)
def test_plain_values(tmp_path: Path, value: object, expected: object) -> None:
    [f] = WRITER.write(value, tmp_path, {})
    assert _read(f.path) == expected


def test_raster_cube_round_trips_through_xarray(tmp_path: Path) -> None:
    cube = raster(dates=2)
    [f] = WRITER.write(cube, tmp_path, {})
    body = _read(f.path)
    assert isinstance(body, dict)
    assert body["dims"] == ["t", "bands", "y", "x"]
    assert "EPSG" in body["attrs"]["crs"] and "32633" in body["attrs"]["crs"]
    back = xr.DataArray.from_dict(body)
    np.testing.assert_array_equal(back.values, cube.values)
    assert back["t"].values.tolist() == ["2022-09-07T00:00:00Z", "2022-09-12T00:00:00Z"]
    np.testing.assert_array_equal(back["x"].values, cube["x"].values)


def test_vector_cube_with_extra_dim_is_unsuitable(tmp_path: Path) -> None:
    with pytest.raises(FormatUnsuitable, match="depth"):
        WRITER.write(vector().expand_dims(depth=[1, 2]), tmp_path, {})


def test_unserialisable_value(tmp_path: Path) -> None:
    with pytest.raises(FormatUnsuitable):
        WRITER.write(object(), tmp_path, {})


def test_number_arrays_keep_their_values_and_types(tmp_path: Path) -> None:
    """The vectorised path writes what a per-value conversion would: float32 widened
    exactly, NaN and ±inf as null, integers and booleans as such."""
    values = np.array([[0.1, np.nan], [np.inf, -np.inf], [1e-39, 3.0]], dtype=np.float32)
    [f] = WRITER.write(values, tmp_path, {})
    assert _read(f.path) == [
        [float(np.float32(0.1)), None],
        [None, None],
        [float(values[2, 0]), 3.0],
    ]
    [f] = WRITER.write(np.array([[1, 2], [3, -4]], dtype=np.int16), tmp_path, {})
    assert f.path.read_text() == "[[1, 2], [3, -4]]"
    [f] = WRITER.write(np.array([True, False]), tmp_path, {})
    assert f.path.read_text() == "[true, false]"
