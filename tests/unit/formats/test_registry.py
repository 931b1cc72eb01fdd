from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from eostation.errors import FileTypeInvalid, ProcessParameterInvalid
from eostation.formats import FormatRegistry, OutputFile, bundle, default_formats
from eostation.formats.registry import LazyFormat
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def registry() -> FormatRegistry:
    return default_formats()


@pytest.mark.parametrize("name", ["GTiff", "gtiff", "GTIFF"])
def test_names_are_case_insensitive(registry: FormatRegistry, name: str) -> None:
    assert registry.get_writer(name).name == "GTiff"


def test_cog_is_a_format(registry: FormatRegistry) -> None:
    assert "cloud-optimized" in registry.get_writer("cog").media_type


def test_unknown_format(registry: FormatRegistry) -> None:
    with pytest.raises(FileTypeInvalid) as e:
        registry.get_writer("geotiff")
    assert "geotiff" in e.value.message and "GTiff" in e.value.message
    assert e.value.status == 400


def test_unknown_option_names_it(registry: FormatRegistry) -> None:
    with pytest.raises(ProcessParameterInvalid, match="tile_grid"):
        registry.get_writer("GTiff").check_options({"tile_grid": "utm-100km"})


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"compress": "brotli"}, "compress"),
        ({"nodata": "zero"}, "nodata"),
        ({"overviews": True}, "overviews"),
    ],
)
def test_invalid_option_value_names_it(
    registry: FormatRegistry, options: dict[str, Any], option: str
) -> None:
    with pytest.raises(ProcessParameterInvalid, match=f"'{option}'"):
        registry.get_writer("GTiff").check_options(options)


def test_options_get_defaults_and_canonical_spelling(registry: FormatRegistry) -> None:
    opts = registry.get_writer("GTiff").check_options({"COMPRESS": "lzw", "nodata": 0})
    assert opts == {
        "compress": "LZW",
        "overviews": "AUTO",
        "nodata": 0,
        "filename_prefix": "openEO",
    }


def test_describe_lists_formats(registry: FormatRegistry) -> None:
    body = registry.describe()
    assert set(body) == {"input", "output"}
    assert {"GTiff", "COG", "JSON"} <= set(body["output"])
    assert "GTiff" in body["input"]
    gtiff = body["output"]["GTiff"]
    assert gtiff["gis_data_types"] == ["raster"]
    assert {"compress", "overviews", "nodata", "filename_prefix"} <= set(gtiff["parameters"])
    assert gtiff["parameters"]["compress"]["default"] == "DEFLATE"


@pytest.mark.slow
def test_describe_validates_against_openapi(registry: FormatRegistry) -> None:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    spec_path = shared_path("specs", "openeo-api", "openapi.yaml")
    spec = yaml.safe_load(spec_path.read_text())
    spec["servers"] = [{"url": "http://localhost"}]
    # The spec's `process_json_schema` says `oneOf: [Generic, process graph, datacube]`;
    # a schema without `subtype` matches all three, so no parameter could ever pass.
    # `anyOf` is what the spec means.
    pjs = spec["components"]["schemas"]["process_json_schema"]
    pjs["anyOf"] = pjs.pop("oneOf")
    openapi = OpenAPI.from_dict(spec)

    request = MockRequest("http://localhost", "get", "/file_formats")
    response = MockResponse(json.dumps(registry.describe()).encode(), status_code=200)
    openapi.validate_response(request, response)


def test_bundle_single_file_is_itself(tmp_path: Path) -> None:
    f = tmp_path / "openEO.tif"
    f.write_bytes(b"x")
    out = OutputFile(path=f, media_type="image/tiff")
    assert bundle([out], tmp_path) is out


def test_bundle_zips_several(tmp_path: Path) -> None:
    import zipfile

    files = []
    for n in ("a.tif", "b.tif"):
        (tmp_path / n).write_bytes(n.encode())
        files.append(OutputFile(path=tmp_path / n, media_type="image/tiff"))
    out = bundle(files, tmp_path)
    assert out.media_type == "application/zip"
    with zipfile.ZipFile(out.path) as zf:
        assert sorted(zf.namelist()) == ["a.tif", "b.tif"]
        assert zf.read("b.tif") == b"b.tif"


def test_lazy_names_are_the_writers_own() -> None:
    """The names a lazy registry lists before importing equal those of the loaded formats."""
    lazy = default_formats()
    before = (lazy.output_names, lazy.input_names)
    assert "ML-MODEL" not in before[0] and "GTiff" in before[0] and "netCDF" in before[1]
    lazy.load_all()
    assert (lazy.output_names, lazy.input_names) == before
    for name in before[0] + ["ML-MODEL"]:
        assert lazy.get_writer(name.upper()).name == name
    for name in before[1]:
        assert lazy.get_reader(name.lower()).name == name


def test_a_format_is_imported_on_first_use_only() -> None:
    """Listing and checking other formats never imports a lazily registered module."""
    missing = LazyFormat("Missing", "eostation.formats.no_such_module", "Writer")
    lazy = FormatRegistry([missing, LazyFormat("JSON", "eostation.formats.jsonfile", "JSONWriter")])
    assert lazy.output_names == ["Missing", "JSON"]
    assert lazy.check_output("json", {})[0] == "JSON"
    with pytest.raises(FileTypeInvalid, match="Missing, JSON"):
        lazy.get_writer("PNG")
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        lazy.get_writer("missing")
