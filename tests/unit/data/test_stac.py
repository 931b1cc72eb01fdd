"""STAC-backed collections and ``load_stac``: the static Mol catalogue in ../shared and a
tiny STAC API served on 127.0.0.1 over the same items, compared with rasterio reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
import rasterio

from eostation.data.base import LoadRequest
from eostation.data.files import CollectionConfigError
from eostation.data.registry import build_registry
from eostation.data.stac import LoadOptions, load_stac, stac_collection
from eostation.errors import OutboundRefused, ProcessParameterInvalid
from eostation.outbound import OutboundPolicy
from tests import loopback_http
from tests.conftest import shared_path
from tests.stac_check import assert_valid_collection

DATES = ["2023-06-01", "2023-06-04", "2023-06-06"]
CLOUD = {"2023-06-01": 10.0, "2023-06-04": 50.0, "2023-06-06": 30.0}
BANDS = [
    {"name": "B04", "common_name": "red", "wavelength": 0.665},
    {"name": "B03", "common_name": "green", "wavelength": 0.56},
    {"name": "B02", "common_name": "blue", "wavelength": 0.49},
]


def _lte(limit: float) -> dict[str, Any]:
    """An openEO callback ``value <= limit`` as the engine passes it."""
    node = {"process_id": "lte", "arguments": {"x": {"from_parameter": "value"}, "y": limit}}
    return {"process_graph": {"c": {**node, "result": True}}}


def _catalog() -> Path:
    return shared_path("data", "s2_l2a_openeo_small", "example_stac_catalog")


def _read(day: str, window: Any = None) -> np.ndarray:
    with rasterio.open(_catalog() / f"openEO_{day}Z.tif") as ds:
        return ds.read(window=window).astype(np.float32)


def test_static_catalogue_full_load_equals_rasterio() -> None:
    cube = load_stac(str(_catalog() / "collection.json"))
    assert cube.dims == ("t", "bands", "y", "x") and cube.dtype == np.float32
    assert list(cube.bands.values) == ["B04", "B03", "B02"]
    assert [str(t)[:10] for t in cube.t.values] == DATES
    assert cube.data.chunks[0] == (3,)  # all dates of a tile in one chunk
    for i, day in enumerate(DATES):
        np.testing.assert_array_equal(cube.values[i], _read(day))
    with rasterio.open(_catalog() / "openEO_2023-06-01Z.tif") as ds:
        assert cube.odc.geobox.affine == ds.transform and cube.odc.geobox.crs.epsg == 32631
    assert cube.x.values[0] == 644555.0 and cube.y.values[0] == 5676345.0  # pixel centres


def test_static_catalogue_subset_and_client_side_filter() -> None:
    cube = load_stac(
        str(_catalog() / "collection.json"),
        spatial_extent={
            "west": 644600,
            "south": 5676000,
            "east": 644700,
            "north": 5676100,
            "crs": 32631,
        },
        temporal_extent=("2023-06-01", "2023-06-06"),  # half-open: 06-06 excluded
        bands=["B02", "B04"],
    )
    assert [str(t)[:10] for t in cube.t.values] == ["2023-06-01", "2023-06-04"]
    window = rasterio.windows.Window(5, 25, 10, 10)
    for i, day in enumerate(["2023-06-01", "2023-06-04"]):
        np.testing.assert_array_equal(cube.values[i], _read(day, window)[[2, 0]])
    # Only the 06-01 item carries this property: a callable condition runs client-side.
    only = load_stac(
        str(_catalog() / "collection.json"),
        bands=["B03"],
        properties={"testing_custom_property": lambda v: "github" in v},
    )
    assert [str(t)[:10] for t in only.t.values] == ["2023-06-01"]
    np.testing.assert_array_equal(only.values[0, 0], _read("2023-06-01")[1])


def test_load_stac_unknown_band_and_empty_selection() -> None:
    url = str(_catalog() / "collection.json")
    with pytest.raises(ProcessParameterInvalid, match="bands"):
        load_stac(url, bands=["B08"])
    with pytest.raises(ProcessParameterInvalid, match="no STAC item"):
        load_stac(url, temporal_extent=("2020-01-01", "2020-02-01"))


def test_apply_scale_and_reprojection_options() -> None:
    url = str(_catalog() / "collection.json")
    native = load_stac(url, bands=["B04"], temporal_extent=("2023-06-01", "2023-06-02"))
    opts = LoadOptions(crs="EPSG:32631", resolution=20.0, resampling="average", apply_scale=True)
    coarse = load_stac(
        url, bands=["B04"], temporal_extent=("2023-06-01", "2023-06-02"), options=opts
    )
    assert coarse.odc.geobox.resolution.x == 20.0
    # No raster:bands scale in these items: apply_scale keeps values (scale 1, offset 0).
    assert abs(float(coarse.mean()) - float(native.mean())) < 0.05 * float(native.mean())


# -- a minimal STAC API --------------------------------------------------------------------


def _items(base: str) -> list[dict[str, Any]]:
    items = []
    for day in DATES:
        item = json.loads((_catalog() / f"openEO_{day}Z.tif.json").read_text())
        [(_key, asset)] = item["assets"].items()
        asset["href"] = str(_catalog() / f"openEO_{day}Z.tif")
        item["assets"] = {"image": asset}
        item["collection"] = "mol"
        item["properties"]["eo:cloud_cover"] = CLOUD[day]
        item["links"] = [{"rel": "collection", "href": f"{base}/collections/mol"}]
        items.append(item)
    return items


_CMP = {
    "=": np.equal,
    "<>": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _cql(expr: dict[str, Any], props: dict[str, Any]) -> bool:
    if expr["op"] == "and":
        return all(_cql(a, props) for a in expr["args"])
    prop, literal = expr["args"]
    value = props.get(prop["property"])
    return value is not None and bool(_CMP[expr["op"]](value, literal))


def _query(query: dict[str, Any], props: dict[str, Any]) -> bool:
    ops = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
    return all(
        _cql({"op": ops[op], "args": [{"property": name}, lit]}, props)
        for name, cond in query.items()
        for op, lit in cond.items()
    )


class _Api:
    """A threaded http.server speaking just enough STAC API for pystac-client."""

    def __init__(self, conformance: list[str]) -> None:
        self.conformance = conformance
        self.searches: list[dict[str, Any]] = []
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                api.requests.append(self.path)
                url = urlparse(self.path)
                if url.path == "/search":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    return self._send(api.search(query))
                self._send(*api.get(url.path))

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self._send(api.search(body))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def get(self, path: str) -> tuple[dict[str, Any], int]:
        links = [
            {"rel": "self", "href": self.url + "/"},
            {"rel": "root", "href": self.url + "/"},
            {"rel": "search", "href": self.url + "/search", "method": "POST"},
            {"rel": "conformance", "href": self.url + "/conformance"},
            {"rel": "data", "href": self.url + "/collections"},
        ]
        if path in ("", "/"):
            doc = {"type": "Catalog", "stac_version": "1.0.0", "id": "test", "description": "t"}
            return {**doc, "conformsTo": self.conformance, "links": links}, 200
        if path == "/conformance":
            return {"conformsTo": self.conformance}, 200
        if path == "/collections/mol":
            collection = json.loads((_catalog() / "collection.json").read_text())
            collection.update(id="mol", title="Mol from the API", links=links[1:2])
            collection["extent"]["spatial"]["bbox"] = [[5.06, 51.21, 5.09, 51.23]]
            collection["extent"]["temporal"]["interval"] = [
                ["2023-06-01T00:00:00Z", "2023-06-06T00:00:00Z"]
            ]
            return collection, 200
        return {"code": "NotFound", "description": path}, 404

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        self.searches.append(body)
        found = []
        for item in _items(self.url):
            props = item["properties"]
            when = pd.Timestamp(props["datetime"]).tz_localize(None)
            if "datetime" in body:
                lo, hi = str(body["datetime"]).split("/")
                if (lo != ".." and when < pd.Timestamp(lo).tz_localize(None)) or (
                    hi != ".." and when > pd.Timestamp(hi).tz_localize(None)
                ):
                    continue
            if isinstance(body.get("filter"), dict) and not _cql(body["filter"], props):
                continue
            if isinstance(body.get("query"), dict) and not _query(body["query"], props):
                continue
            found.append(item)
        return {"type": "FeatureCollection", "features": found, "links": []}

    def __enter__(self) -> _Api:
        loopback_http.start(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        loopback_http.stop(self.server)


CORE = ["https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search"]
FILTER = [
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
]
QUERY = ["https://api.stacspec.org/v1.0.0/item-search#query"]


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[_Api]:
    _catalog()
    with _Api(CORE + getattr(request, "param", FILTER)) as server:
        yield server


# The test API runs on loopback, which the outbound guard refuses unless the admin allows it.
LOOPBACK = OutboundPolicy.parse("127.0.0.0/8")


def _entry(api: _Api) -> dict[str, Any]:
    return {"id": "MOL_API", "type": "stac", "url": api.url, "collection": "mol", "bands": BANDS}


@pytest.mark.parametrize(
    ("api", "pushed"),
    [(FILTER, "filter"), (QUERY, "query"), ([], None)],
    indirect=["api"],
)
def test_api_collection_pushes_property_filter(api: _Api, pushed: str | None) -> None:
    source = stac_collection(_entry(api), Path("."), LOOPBACK)
    request = LoadRequest(
        bbox=(5.0, 51.0, 5.2, 51.3),
        temporal=("2023-06-01", "2023-07-01"),
        bands=["blue", "B04"],
        properties={"eo:cloud_cover": _lte(35)},
    )
    cube = source.load(request)
    assert [str(t)[:10] for t in cube.t.values] == ["2023-06-01", "2023-06-06"]
    assert list(cube.bands.values) == ["B02", "B04"]
    # The load is clipped to the items' footprint (their lon/lat bbox), on the native grid.
    native = cube.sel(x=slice(644550, 645280), y=slice(5676350, 5675770))
    assert native.sizes["x"] == 73 and native.sizes["y"] == 58
    for i, day in enumerate(["2023-06-01", "2023-06-06"]):
        np.testing.assert_array_equal(native.values[i], _read(day)[[2, 0]])
    assert cube.sizes["x"] < 80 and cube.sizes["y"] < 70
    body = api.searches[-1]
    assert body["collections"] == ["mol"] and body["bbox"] == pytest.approx([5.0, 51.0, 5.2, 51.3])
    if pushed == "filter":
        assert body["filter"] == {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 35]}
    elif pushed == "query":
        assert body["query"] == {"eo:cloud_cover": {"lte": 35}}
    else:
        assert "filter" not in body and "query" not in body


def test_api_collection_metadata_and_registry(api: _Api, tmp_path: Path) -> None:
    (tmp_path / "collections.toml").write_text(
        f"""
[[collections]]
id = "MOL_API"
type = "stac"
url = "{api.url}"
collection = "mol"
crs = "EPSG:32631"
resolution = 10
bands = [{{ name = "B04", common_name = "red", wavelength = 0.665 }}, {{ name = "B02" }}]
"""
    )
    source = build_registry(tmp_path, LOOPBACK).get("MOL_API")
    doc = source.metadata()
    assert_valid_collection(doc)
    assert doc["title"] == "Mol from the API"
    assert doc["extent"]["spatial"]["bbox"] == [[5.06, 51.21, 5.09, 51.23]]
    x = doc["cube:dimensions"]["x"]
    assert x["reference_system"] == 32631 and x["step"] == 10.0
    assert "eo:cloud_cover" in source.queryables()["properties"]
    cube = source.load(LoadRequest(bands=["B02"], temporal=("2023-06-04", "2023-06-05")))
    np.testing.assert_array_equal(cube.values[0, 0], _read("2023-06-04")[2])


def test_admin_collection_on_loopback_is_refused_by_default(api: _Api, tmp_path: Path) -> None:
    (tmp_path / "collections.toml").write_text(
        f'[[collections]]\nid = "MOL_API"\ntype = "stac"\nurl = "{api.url}"\n'
        'collection = "mol"\ncrs = "EPSG:32631"\nresolution = 10\nbands = [{ name = "B04" }]\n'
    )
    refused = build_registry(tmp_path).get("MOL_API")  # the default policy
    # The collection document is not fetched: the listing falls back to the configuration.
    assert refused.metadata()["title"] == "MOL_API"
    with pytest.raises(OutboundRefused, match=r"internal address.*EOSTATION_OUTBOUND_ALLOW"):
        refused.load(LoadRequest(bands=["B04"], temporal=("2023-06-04", "2023-06-05")))
    assert api.searches == [] and api.requests == []
    allowed = build_registry(tmp_path, LOOPBACK).get("MOL_API")
    assert allowed.metadata()["title"] == "Mol from the API"
    cube = allowed.load(LoadRequest(bands=["B04"], temporal=("2023-06-04", "2023-06-05")))
    np.testing.assert_array_equal(cube.values[0, 0], _read("2023-06-04")[0])
    assert len(api.searches) == 1


def test_load_stac_on_api_collection_url(api: _Api) -> None:
    cube = load_stac(
        f"{api.url}/collections/mol",
        temporal_extent=("2023-06-02", None),
        bands=["B03"],
        properties={"eo:cloud_cover": _lte(40)},
    )
    assert [str(t)[:10] for t in cube.t.values] == ["2023-06-06"]
    np.testing.assert_array_equal(cube.values[0, 0], _read("2023-06-06")[1])
    assert api.searches and api.searches[-1]["collections"] == ["mol"]


def test_auth_headers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {
        "id": "AUTH",
        "type": "stac",
        "url": "https://example.invalid",
        "collection": "c",
        "bands": BANDS,
        "headers": {"Authorization": "Bearer ${EOSTATION_TEST_TOKEN}"},
    }
    source = stac_collection(entry, Path("."))
    monkeypatch.setenv("EOSTATION_TEST_TOKEN", "s3cret")
    assert source._headers() == {"Authorization": "Bearer s3cret"}
    monkeypatch.delenv("EOSTATION_TEST_TOKEN")
    with pytest.raises(CollectionConfigError, match="EOSTATION_TEST_TOKEN"):
        source._headers()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": ""}, "url"),
        ({"bands": []}, "bands"),
        ({"resolution": -1}, "resolution"),
        ({"headers": {"A": 1}}, "headers.A"),
    ],
)
def test_bad_stac_config_names_field(change: dict[str, Any], field: str) -> None:
    entry = {
        "id": "BAD",
        "type": "stac",
        "url": "https://x",
        "collection": "c",
        "bands": BANDS,
        **change,
    }
    with pytest.raises(CollectionConfigError) as err:
        stac_collection(entry, Path("."))
    assert err.value.collection == "BAD" and err.value.field == field


def test_static_catalogue_loads_the_pixels_whose_centres_are_inside() -> None:
    # 7 m into the outer pixels on every side: their centres are outside, 8 × 8 remain
    # (odc-stac alone loads the 10 × 10 pixels the bbox touches).
    extent = {"west": 644607, "south": 5676007, "east": 644693, "north": 5676093, "crs": 32631}
    cube = load_stac(str(_catalog() / "collection.json"), spatial_extent=extent, bands=["B04"])
    assert (cube.sizes["y"], cube.sizes["x"]) == (8, 8)
    assert cube.x.values[0] == 644615.0 and cube.y.values[0] == 5676085.0
    window = rasterio.windows.Window(6, 26, 8, 8)
    np.testing.assert_array_equal(cube.values[0, 0], _read(DATES[0], window)[0])
    # Aligned on the grid: exactly the pixels inside; smaller than a pixel: the one under it.
    aligned = {"west": 644600, "south": 5676000, "east": 644700, "north": 5676100, "crs": 32631}
    assert load_stac(str(_catalog() / "collection.json"), spatial_extent=aligned).sizes["x"] == 10
    dot = {"west": 644601, "south": 5676001, "east": 644604, "north": 5676004, "crs": 32631}
    one = load_stac(str(_catalog() / "collection.json"), spatial_extent=dot, bands=["B04"])
    assert one.x.values.tolist() == [644605.0] and one.y.values.tolist() == [5676005.0]
