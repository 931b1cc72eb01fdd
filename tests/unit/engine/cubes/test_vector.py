"""Vector cube processes and load_url against a local HTTP server."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.outbound import OutboundPolicy
from tests import loopback_http

LIMITS = EngineLimits(outbound=OutboundPolicy.parse("127.0.0.0/8"))  # load_url from loopback

REGISTRY = default_registry()
FIELDS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "a", "area": 1.5},
            "geometry": shapely.geometry.mapping(shapely.box(15.0, 45.0, 15.01, 45.01)),
        },
        {
            "type": "Feature",
            "properties": {"name": "b", "area": 2.5},
            "geometry": shapely.geometry.mapping(shapely.box(15.05, 45.05, 15.06, 45.06)),
        },
    ],
}


def _run(nodes: dict[str, Any], scope: dict[str, Any] | None = None) -> Any:
    return evaluate({"process_graph": nodes}, EvalContext(REGISTRY, LIMITS), scope or {})


def _chain(*steps: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    nodes: dict[str, Any] = {
        "g": {"process_id": "load_geojson", "arguments": {"data": FIELDS, "properties": ["area"]}}
    }
    previous = "g"
    for i, (pid, args) in enumerate(steps):
        key = next(k for k, v in args.items() if v == "$prev")
        nodes[f"s{i}"] = {"process_id": pid, "arguments": {**args, key: {"from_node": previous}}}
        previous = f"s{i}"
    nodes[previous]["result"] = True
    return nodes


def test_load_geojson_properties_and_crs() -> None:
    cube = _run(_chain())
    assert cube.dims == ("geometries", "properties") and cube.values[:, 0].tolist() == [1.5, 2.5]
    assert cube["name"].values.tolist() == ["a", "b"]
    assert cube.xindexes["geometries"].crs.to_epsg() == 4326


def test_reproject_buffer_and_regular_points() -> None:
    cube = _run(
        _chain(
            ("vector_reproject", {"data": "$prev", "projection": 32633}),
            ("vector_buffer", {"geometries": "$prev", "distance": 100}),
        )
    )
    assert cube.xindexes["geometries"].crs.to_epsg() == 32633
    original = _run(_chain(("vector_reproject", {"data": "$prev", "projection": 32633})))
    grown = shapely.area(cube.geometries.values) - shapely.area(original.geometries.values)
    assert np.all(grown > 4 * 100 * 700)  # ~0.79 km x 1.1 km boxes grow by about perimeter x 100 m
    points = _run(
        _chain(
            ("vector_reproject", {"data": "$prev", "projection": 32633}),
            ("vector_to_regular_points", {"data": "$prev", "distance": 200, "group": False}),
        )
    )
    assert points.sizes["geometries"] > 20 and set(points["name"].values) == {"a", "b"}
    assert all(shapely.get_type_id(g) == 0 for g in points.geometries.values)


def test_distance_in_degrees_is_a_unit_mismatch() -> None:
    from eostation.errors import OpenEOError

    with pytest.raises(OpenEOError) as info:
        _run(_chain(("vector_buffer", {"geometries": "$prev", "distance": 100})))
    assert info.value.params.get("exception") == "UnitMismatch"


def test_random_points_are_reproducible_and_inside() -> None:
    args = {"data": "$prev", "geometry_count": 5, "seed": 3}
    first = _run(_chain(("vector_to_random_points", args)))
    second = _run(_chain(("vector_to_random_points", args)))
    assert [
        g.equals(h) for g, h in zip(first.geometries.values, second.geometries.values, strict=True)
    ] == [True, True]
    for multipoint, feature in zip(first.geometries.values, FIELDS["features"], strict=True):
        assert len(multipoint.geoms) == 5 and shapely.geometry.shape(feature["geometry"]).contains(
            multipoint
        )


def test_filter_vector() -> None:
    probe = {"type": "Point", "coordinates": [15.055, 45.055]}
    probe_node = {"p": {"process_id": "load_geojson", "arguments": {"data": probe}}}
    nodes = _chain(
        (
            "filter_vector",
            {"data": "$prev", "geometries": {"from_node": "p"}, "relation": "contains"},
        )
    )
    out = _run({**nodes, **probe_node})
    assert out["name"].values.tolist() == ["b"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "fields.geojson").write_text(json.dumps(FIELDS))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    with loopback_http.serving(httpd):
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


def test_load_url_geojson_and_gtiff(server: str, tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    out = _run(
        {
            "u": {
                "process_id": "load_url",
                "arguments": {"url": f"{server}/fields.geojson", "format": "GeoJSON"},
                "result": True,
            }
        }
    )
    assert isinstance(out, xr.DataArray) and out.sizes["geometries"] == 2
    with rasterio.open(
        tmp_path / "r.tif",
        "w",
        driver="GTiff",
        width=3,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(500000, 5000020, 10, 10),
    ) as ds:
        ds.write(np.arange(6, dtype="float32").reshape(1, 2, 3))
    raster = _run(
        {
            "u": {
                "process_id": "load_url",
                "arguments": {"url": f"{server}/r.tif", "format": "GTiff"},
                "result": True,
            }
        }
    )
    assert raster.dims == ("bands", "y", "x") and raster.values[0, 1, 2] == 5
    assert (
        raster.x.values.tolist() == [500005.0, 500015.0, 500025.0] and raster.odc.crs.epsg == 32633
    )
