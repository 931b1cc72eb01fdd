"""aggregate_spatial against a brute-force reference: shapely point-in-geometry per pixel."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from openeo.rest.conversions import timeseries_json_to_pandas

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.aggregate_spatial import spatial_hint
from eostation.engine.processes.cubes.geometries import GeometrySet, object_array, vector_cube
from eostation.engine.registry import default_registry
from eostation.formats import default_formats

LIMITS = EngineLimits()

REGISTRY = default_registry()
SLOVENIA = Path(__file__).parents[4] / "../shared/data/s2_l1c_eolearn_slovenia"
DATES = np.array(["2022-06-01", "2022-06-11", "2022-06-21"], dtype="datetime64[ns]")


def _cube(chunks: dict[str, int] | None = None) -> xr.DataArray:
    """(t=3, bands=2, y=8, x=10) on a 10 m UTM grid, a few NaN pixels."""
    box = GeoBox.from_bbox((500000, 5000000, 500100, 5000080), "EPSG:32633", resolution=10)
    rng = np.random.default_rng(42)
    data = rng.normal(100, 20, size=(3, 2, *box.shape))
    data[0, 0, 2, 3] = np.nan
    data[:, 1, 5, 5] = np.nan
    data[2, :, 1:3, 1:3] = np.nan
    cube = xr.DataArray(
        data,
        dims=("t", "bands", "y", "x"),
        coords={"t": DATES, "bands": ["B04", "B08"], **xr_coords(box)},
    )
    return cube.chunk(chunks) if chunks else cube


X0, Y1 = 500000.0, 5000080.0
GEOMS = [
    shapely.box(X0 + 12, Y1 - 58, X0 + 50, Y1 - 12),  # overlaps the next one
    shapely.box(X0 + 31, Y1 - 71, X0 + 88, Y1 - 35),
    shapely.box(X0 + 60, Y1 - 40, X0 + 80, Y1 - 20),  # edges on pixel edges: 2x2 pixels
    shapely.box(X0 + 11, Y1 - 9, X0 + 14, Y1 - 6),  # inside one pixel, misses its centre
    shapely.Polygon([(X0 + 5, Y1 - 5), (X0 + 45, Y1 - 5), (X0 + 5, Y1 - 45)]),  # edge on centres
    shapely.Point(X0 + 93, Y1 - 77),  # closest centre: last column, last row
    shapely.MultiPolygon(
        [shapely.box(X0, Y1 - 10, X0 + 10, Y1), shapely.box(X0 + 90, Y1 - 80, X0 + 100, Y1 - 70)]
    ),
]


def _vector() -> xr.DataArray:
    names = [f"g{i}" for i in range(len(GEOMS))]
    return vector_cube(GeometrySet(object_array(GEOMS), _crs(), [{"name": n} for n in names]))


def _crs() -> Any:
    import pyproj

    return pyproj.CRS.from_epsg(32633)


def _reference(cube: xr.DataArray, geometry: Any) -> np.ndarray:
    """(t, bands, n) values of the pixels whose centre intersects the geometry (brute force)."""
    xs, ys = cube.x.values, cube.y.values
    picked = []
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            if shapely.get_dimensions(geometry) == 0:
                hit = abs(x - geometry.x) <= 5 and abs(y - geometry.y) <= 5
            else:
                hit = geometry.intersects(shapely.Point(x, y))
            if hit:
                picked.append(cube.values[:, :, iy, ix])
    return np.stack(picked, axis=-1) if picked else np.empty((*cube.shape[:2], 0))


NUMPY = {
    "mean": lambda v: np.nanmean(v, axis=-1),
    "sum": lambda v: np.where(np.isnan(v).all(-1), np.nan, np.nansum(v, axis=-1)),
    "count": lambda v: (~np.isnan(v)).sum(-1).astype(float),
    "min": lambda v: np.nanmin(v, axis=-1),
    "max": lambda v: np.nanmax(v, axis=-1),
    "median": lambda v: np.nanmedian(v, axis=-1),
    "sd": lambda v: np.nanstd(v, axis=-1, ddof=1),
    "variance": lambda v: np.nanvar(v, axis=-1, ddof=1),
}


def _run(
    cube: xr.DataArray, geometries: Any, reducer: dict[str, Any], **extra: Any
) -> xr.DataArray:
    graph = {
        "process_graph": {
            "a": {
                "process_id": "aggregate_spatial",
                "arguments": {
                    "data": {"from_parameter": "cube"},
                    "geometries": {"from_parameter": "geoms"},
                    "reducer": {"process_graph": reducer},
                    **extra,
                },
                "result": True,
            }
        }
    }
    out = evaluate(graph, EvalContext(REGISTRY, LIMITS), {"cube": cube, "geoms": geometries})
    assert isinstance(out, xr.DataArray)
    return out


def _single(name: str, **arguments: Any) -> dict[str, Any]:
    args = {"data": {"from_parameter": "data"}, **arguments}
    return {"r": {"process_id": name, "arguments": args, "result": True}}


def _expected(cube: xr.DataArray, name: str) -> np.ndarray:
    out = []
    for g in GEOMS:
        values = _reference(cube, g)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if values.shape[-1] == 0:
                out.append(np.full(values.shape[:2], 0.0 if name == "count" else np.nan))
            else:
                out.append(NUMPY[name](values))
    return np.stack(out)


@pytest.mark.parametrize("name", sorted(NUMPY))
@pytest.mark.parametrize("chunks", [None, {"t": 2, "y": 3, "x": 4}])
def test_fast_reducers_equal_brute_force(name: str, chunks: dict[str, int] | None) -> None:
    cube = _cube(chunks)
    out = _run(cube, _vector(), _single(name))
    assert out.dims == ("geometries", "t", "bands")
    np.testing.assert_allclose(out.values, _expected(cube.compute(), name), rtol=1e-12, atol=1e-9)


def test_membership_rules() -> None:
    cube = _cube()
    count = _run(cube, _vector(), _single("count", condition=True)).values[:, 0, 0]
    # 4x5 centres; 6x4 (one row on the boundary); 2x2 (edges on pixel edges); none;
    # 5+4+3+2+1 (incl. the centres on the hypotenuse); 1 (closest centre); 1 per part.
    assert count.tolist() == [20, 24, 4, 0, 15, 1, 2]
    overlap = _reference(cube, GEOMS[0].intersection(GEOMS[1]))
    assert overlap.shape[-1] == 6  # 2x3 pixels count for both overlapping polygons


def test_generic_reducer_called_per_geometry() -> None:
    cube = _cube({"t": 1, "y": 4, "x": 5})
    reducer = {
        "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
        "r": {
            "process_id": "multiply",
            "arguments": {"x": {"from_node": "m"}, "y": {"from_parameter": "context"}},
            "result": True,
        },
    }
    out = _run(cube, _vector(), reducer, context=3)
    np.testing.assert_allclose(out.values, 3 * _expected(cube.compute(), "mean"), rtol=1e-12)


def test_ignore_nodata_false_poisons_geometries_with_nan_pixels() -> None:
    cube = _cube({"y": 4, "x": 4})
    out = _run(cube, _vector(), _single("mean", ignore_nodata=False)).values
    expected = []
    for g in GEOMS:
        v = _reference(cube.compute(), g)
        expected.append(v.mean(-1) if v.shape[-1] else np.full(v.shape[:2], np.nan))
    np.testing.assert_allclose(out, np.stack(expected))


def test_result_is_lazy_and_keeps_labels() -> None:
    cube = _cube({"t": 1, "y": 4, "x": 5})
    out = _run(cube, _vector(), _single("mean"))
    assert out.chunks is not None
    assert out.t.values.tolist() == DATES.tolist()
    assert out.bands.values.tolist() == ["B04", "B08"]
    assert out.xindexes["geometries"].crs.to_epsg() == 32633
    assert [g.equals(h) for g, h in zip(out.geometries.values, GEOMS, strict=True)] == [True] * 7
    assert out["name"].values.tolist() == [f"g{i}" for i in range(7)]


def test_target_dimension_adds_counts() -> None:
    out = _run(_cube(), _vector(), _single("mean"), target_dimension="stats")
    assert out.dims == ("geometries", "t", "bands", "stats")
    assert out.stats.values.tolist() == ["value", "total_count", "valid_count"]
    first = out.isel(geometries=0, t=2, bands=0).values
    assert first[1] == 20 and first[2] == 16  # 4 of the 20 pixels are NaN at t=2


def test_target_dimension_exists() -> None:
    from eostation.errors import OpenEOError

    with pytest.raises(OpenEOError, match="exists"):
        _run(_cube(), _vector(), _single("mean"), target_dimension="bands")


def test_geojson_in_lonlat_is_reprojected() -> None:
    import pyproj

    to_ll = pyproj.Transformer.from_crs(32633, 4326, always_xy=True)
    poly = GEOMS[0]
    ll = shapely.transform(poly, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    feature = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "f1"},
                "geometry": shapely.geometry.mapping(ll),
            }
        ],
    }
    out = _run(_cube(), json.loads(json.dumps(feature)), _single("count", condition=True))
    assert out.values[0, 0, 0] == 20
    west, south, east, north = spatial_hint(feature)[0]
    assert 14.999 < west < east < 15.002 and 45.0 < south < north < 45.3


def test_json_output_reads_back_with_the_openeo_client(tmp_path: Path) -> None:
    cube = _cube()
    out = _run(cube, _vector(), _single("mean")).compute()
    [f] = default_formats().get_writer("json").write(out, tmp_path, {})
    frame = timeseries_json_to_pandas(json.loads(f.path.read_text()))
    expected = _expected(cube, "mean")
    assert frame.loc["2022-06-11T00:00:00Z", (1, 1)] == pytest.approx(expected[1, 1, 1])
    assert math.isnan(frame.loc["2022-06-01T00:00:00Z", (3, 0)])  # no pixel in g3
    assert frame.shape == (3, 7 * 2)


@pytest.mark.skipif(not SLOVENIA.is_dir(), reason="../shared/data is absent")
def test_real_lulc_polygons_over_reference_scenes() -> None:
    geopandas = pytest.importorskip("geopandas")
    frame = geopandas.read_file(SLOVENIA / "LULC.gpkg")
    scenes = np.load(SLOVENIA / "REFERENCE_SCENES.npy")  # (t, y, x, band)
    bbox = json.loads((SLOVENIA / "bbox.geojson").read_text())["coordinates"][0]
    west, north = bbox[0][0], bbox[1][1]
    ny, nx = scenes.shape[1:3]
    xs = west + 10 * np.arange(nx) + 5
    ys = north - 10 * np.arange(ny) - 5
    cube = xr.DataArray(
        scenes.transpose(0, 3, 1, 2)[:, :3],
        dims=("t", "bands", "y", "x"),
        coords={"t": np.arange(len(scenes)), "bands": ["B01", "B02", "B03"], "y": ys, "x": xs},
        attrs={"crs": "EPSG:32633"},
    ).chunk({"y": 40, "x": 40})
    out = _run(cube, frame, _single("mean")).compute()
    assert out.sizes["geometries"] == 88
    values = cube.values
    gx, gy = np.meshgrid(xs, ys)
    for i in range(0, 88, 7):
        inside = shapely.intersects_xy(frame.geometry.iloc[i], gx, gy)
        if inside.any():
            np.testing.assert_allclose(
                out.values[i], np.nanmean(values[:, :, inside], axis=-1), rtol=1e-5
            )
        else:
            assert np.isnan(out.values[i]).all()
    assert out["LULC_NAME"].values[0] == frame["LULC_NAME"].iloc[0]


# -- membership decided per chunk, on the workers ------------------------------------


def test_point_between_centres_of_two_chunks_counts_once_for_the_first() -> None:
    cube = _cube()
    # Halfway between the centres of columns 3 and 4 (chunks x=4 split them), on row 2.
    point = shapely.Point(X0 + 40, Y1 - 25)
    vector = vector_cube(GeometrySet(object_array([point]), _crs(), [{}]))
    for chunks in (None, {"y": 2, "x": 4}):
        c = cube.chunk(chunks) if chunks else cube
        count = _run(c, vector, _single("count", condition=True)).values
        mean = _run(c, vector, _single("mean")).values
        assert count[0].tolist() == [[1.0, 1.0]] * 3
        np.testing.assert_array_equal(mean[0], cube.values[:, :, 2, 3])


def test_line_across_chunk_borders_and_polygon_past_the_edge() -> None:
    cube = _cube()
    line = shapely.LineString([(X0 + 12, Y1 - 20), (X0 + 58, Y1 - 20)])  # rows 1|2, cols 1-5
    outside = shapely.box(X0 + 75, Y1 - 30, X0 + 130, Y1 + 20)  # cols 7-9, rows 0-2
    vector = vector_cube(GeometrySet(object_array([line, outside]), _crs(), [{}, {}]))
    for chunks in (None, {"t": 2, "y": 2, "x": 4}):
        c = cube.chunk(chunks) if chunks else cube
        count = _run(c, vector, _single("count", condition=True)).values[:, 0, 0]
        assert count.tolist() == [10, 9]
        mean = _run(c, vector, _single("mean")).values
        np.testing.assert_allclose(mean[0], np.nanmean(cube.values[:, :, 1:3, 1:6], axis=(2, 3)))
        np.testing.assert_allclose(mean[1], np.nanmean(cube.values[:, :, 0:3, 7:10], axis=(2, 3)))


def test_target_dimension_counts_with_spatial_chunks() -> None:
    out = _run(_cube({"y": 3, "x": 4}), _vector(), _single("mean"), target_dimension="stats")
    assert out.isel(t=2, bands=0, stats=1).values.tolist() == [20, 24, 4, 0, 15, 1, 2]
    assert out.isel(geometries=0, t=2, bands=0).values[2] == 16


def test_graph_carries_geometries_not_membership_matrices() -> None:
    import cloudpickle

    # 200 x 200 pixels in 16 chunks, one polygon over all: 40,000 memberships.
    box = GeoBox.from_bbox((500000, 5000000, 502000, 5002000), "EPSG:32633", resolution=10)
    import dask.array as da

    data = da.arange(40_000, dtype=np.float64, chunks=2_500).reshape((1, *box.shape))
    cube = xr.DataArray(data, dims=("t", "y", "x"), coords={"t": DATES[:1], **xr_coords(box)})
    cube = cube.chunk({"y": 50, "x": 50})
    polygon = shapely.box(500000, 5000000, 502000, 5002000)
    vector = vector_cube(GeometrySet(object_array([polygon]), _crs(), [{}]))
    out = _run(cube, vector, _single("mean"))
    assert len(cloudpickle.dumps(dict(out.data.__dask_graph__()))) < 60_000
    assert out.values[0, 0] == pytest.approx(39_999 / 2)


def test_chunks_no_geometry_reaches_are_not_read() -> None:
    cube = _cube({"y": 4, "x": 5})  # 2 x 2 spatial chunks
    inner = shapely.box(X0 + 1, Y1 - 29, X0 + 29, Y1 - 1)  # top-left chunk only
    vector = vector_cube(GeometrySet(object_array([inner]), _crs(), [{}]))
    out = _run(cube, vector, _single("mean"))
    source = cube.data.name
    graph = out.data.__dask_graph__()
    reads = {k for k in graph if isinstance(k, tuple) and k[0] == source}
    assert reads == {(source, 0, 0, 0, 0)}
    np.testing.assert_allclose(out.values[0], np.nanmean(cube.values[:, :, 0:3, 0:3], axis=(2, 3)))
