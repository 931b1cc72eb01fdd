"""``collections.toml`` as typed models: unknown keys, wrong types, the published schema."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from eostation.data.config import CollectionConfigError, collections_schema
from eostation.data.registry import build_registry

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "collections.schema.json"

EXAMPLE = """
[[collections]]
id = "MY_S2"
paths = ["s2/*.tif"]
date = { regex = 'openEO_(?P<date>\\d{4}-\\d{2}-\\d{2})Z', format = "%Y-%m-%d" }
bands = [{ name = "B04", common_name = "red", wavelength = 0.665 }, { name = "B02" }]
nodata = 0

[[collections]]
id = "MOL_API"
type = "stac"
url = "https://example.org/stac"
collection = "mol"
resolution = 10
bands = [{ name = "B04" }]

[[collections]]
id = "ARCH"
type = "archive"
path = "archive.zarr"
"""


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('id = "X"\npaths = "*.tif"\ndate = { regex = "(?P<date>.*)" }\n'
         'bands = [{ name = "B" }]\ntitel = "typo"', "titel"),
        ('id = "X"\ntype = "stac"\nurl = "https://x"\nbands = [{ name = "B", colour = 1 }]',
         "bands[0].colour"),
        ('id = "X"\ntype = "archive"\npath = "a.zarr"\nresolutoin = 0.1', "resolutoin"),
        ('id = "X"\ntype = "archive"\npath = "a.zarr"\nresolution = "fine"', "resolution"),
        ('id = "X"\ntype = "stac"\nurl = "https://x"\nbands = [{ name = "B" }]\nchunks = true',
         "chunks"),
    ],
)  # fmt: skip
def test_unknown_keys_and_wrong_types_name_collection_and_field(
    tmp_path: Path, entry: str, field: str
) -> None:
    (tmp_path / "collections.toml").write_text(f"[[collections]]\n{entry}\n")
    with pytest.raises(CollectionConfigError) as err:
        build_registry(tmp_path)
    assert err.value.collection == "X" and err.value.field == field
    assert "'X'" in str(err.value) and f"'{field}'" in str(err.value)


def test_published_schema_is_the_generated_one() -> None:
    """Regenerate with ``python -m eostation.data.config > docs/collections.schema.json``."""
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == collections_schema()


def test_schema_accepts_the_example_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(collections_schema())
    doc: dict[str, Any] = tomllib.loads(EXAMPLE)
    assert list(validator.iter_errors(doc)) == []
    doc["collections"][0]["titel"] = "typo"
    doc["collections"][1]["resolution"] = -1
    assert len(list(validator.iter_errors(doc))) == 2  # one per bad entry (anyOf)
    assert not validator.is_valid({"collections": [{"id": "A", "type": "ftp"}]})
