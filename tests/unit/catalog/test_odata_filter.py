"""Golden tests: each CDSE ``$filter`` form → the expected items query (CQL2-JSON)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely

from eostation.catalog.odata.entity import item_id_of, product_name
from eostation.catalog.odata.filter import ProductFilter, parse_filter
from eostation.errors import ODataQueryInvalid

S3_IDS = ("SENTINEL3_OLCI_L1B", "SENTINEL3_SLSTR", "SENTINEL3_SLSTR_L2_LST", "SENTINEL3_SYN_L2_SYN")
DGED_NAME = (
    r"DEM1_SAR_DGE_30_20(1[0-5])\d{4}T\d{6}_20(1[1-7])\d{4}T\d{6}_ADS_000000_[0-9A-Za-z]{4}\.DEM"
)
ARCTIC = "POLYGON((-81.7 71.7, -81.7 73.8, -75.1 73.8, -75.1 71.7, -81.7 71.7))"


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def ts(value: str) -> dict[str, str]:
    return {"timestamp": value}


def dated(name: str, op: str, stamp: str) -> dict[str, Any]:
    """A date comparison: on the property, or on ``datetime`` for items without it."""
    return {
        "op": "or",
        "args": [
            {"op": op, "args": [prop(name), ts(stamp)]},
            {
                "op": "and",
                "args": [
                    {"op": "isNull", "args": [prop(name)]},
                    {"op": op, "args": [prop("datetime"), ts(stamp)]},
                ],
            },
        ],
    }


def test_the_tutorial_query() -> None:
    got = parse_filter(
        "Collection/Name eq 'SENTINEL-3' and Attributes/OData.CSC.StringAttribute/any("
        "att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'OL_1_EFR___') "
        "and ContentDate/Start gt 2018-06-01T00:00:00.000Z and ContentDate/Start lt "
        f"2018-06-02T23:59:59.999Z and OData.CSC.Intersects(area=geography'SRID=4326;{ARCTIC}')"
    )
    assert got.collections == S3_IDS
    assert got.intersects is not None and got.intersects.equals(shapely.from_wkt(ARCTIC))
    assert got.datetime == ("2018-06-01T00:00:00Z", "2018-06-02T23:59:59.999000Z")
    assert got.filter == {
        "op": "and",
        "args": [
            {"op": "=", "args": [prop("product:type"), "OL_1_EFR___"]},
            dated("start_datetime", ">", "2018-06-01T00:00:00Z"),
            dated("start_datetime", "<", "2018-06-02T23:59:59.999000Z"),
        ],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name ne 'plain'", {"op": "not", "args": [{"op": "=", "args": [prop("id"), "plain"]}]}),
        ("contains(Name,'L2A_')", {"op": "like", "args": [prop("id"), "%L2A\\_%"]}),
        ("startswith(Name,'S1A')", {"op": "like", "args": [prop("id"), "S1A%"]}),
        ("endswith(Name,'_NT_002.SEN3')", {"op": "like", "args": [prop("id"), "%\\_NT\\_002"]}),
        (
            "ContentDate/End ge 2020-01-01",
            dated("end_datetime", ">=", "2020-01-01T00:00:00Z"),
        ),
        (
            "PublicationDate le 2020-01-01T01:00:00+01:00",
            dated("published", "<=", "2020-01-01T00:00:00Z"),
        ),
        (
            "ModificationDate eq 2020-01-01T00:00:00Z",
            dated("updated", "=", "2020-01-01T00:00:00Z"),
        ),
        (
            "OriginDate lt 2021-03-04T05:06:07.5Z",
            dated("created", "<", "2021-03-04T05:06:07.500000Z"),
        ),
        (
            "2020-01-01T00:00:00Z lt ContentDate/Start",
            dated("start_datetime", ">", "2020-01-01T00:00:00Z"),
        ),
        (
            "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and att/OData.CSC.DoubleAttribute/Value le 20.5)",
            {"op": "<=", "args": [prop("eo:cloud_cover"), 20.5]},
        ),
        (
            # eodag's config tags an integer as a string: tolerated, converted
            "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'relativeOrbitNumber' and att/OData.CSC.StringAttribute/Value eq '22')",
            {"op": "=", "args": [prop("sat:relative_orbit"), 22]},
        ),
        (
            "Attributes/OData.CSC.IntegerAttribute/any(att:att/OData.CSC.IntegerAttribute/Value gt 1000 and att/Name eq 'orbitNumber')",
            {"op": ">", "args": [prop("sat:absolute_orbit"), 1000]},
        ),
        (
            "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'platformSerialIdentifier' and att/OData.CSC.StringAttribute/Value eq 'B')",
            {"op": "like", "args": [prop("platform"), "%b"]},
        ),
        (
            "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'tileId' and att/OData.CSC.StringAttribute/Value eq '32TPS')",
            {"op": "=", "args": [prop("grid:code"), "MGRS-32TPS"]},
        ),
        (
            "Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'instrumentShortName' and att/OData.CSC.StringAttribute/Value eq 'OLCI')",
            {"op": "a_contains", "args": [prop("instruments"), ["olci"]]},
        ),
        (
            "Attributes/OData.CSC.StringAttribute/any(a:a/Name eq 'orbitDirection' and a/Value eq 'ASCENDING')",
            {"op": "=", "args": [prop("sat:orbit_state"), "ascending"]},
        ),
        (
            "Attributes/OData.CSC.DateTimeOffsetAttribute/any(att:att/Name eq 'processingDate' and att/OData.CSC.DateTimeOffsetAttribute/Value gt 2020-01-01T00:00:00Z)",
            None,  # an attribute no product has: no match, as on CDSE
        ),
    ],
)
def test_single_conditions(text: str, expected: dict[str, Any] | None) -> None:
    got = parse_filter(text)
    if expected is None:
        assert got.collections == ()
    else:
        assert got.filter == expected
        assert got.collections is None and got.intersects is None


def test_names_become_item_ids_without_the_product_suffix() -> None:
    got = parse_filter("Name eq 'S2B_MSIL2A_X.SAFE'")
    assert got.ids == ("S2B_MSIL2A_X", "S2B_MSIL2A_X.SAFE") and got.filter is None
    assert parse_filter("Name eq 'plain'").ids == ("plain",)
    assert parse_filter("Name eq 'a.SEN3' and Name eq 'b.SEN3'").ids == ()
    either = parse_filter("Name eq 'a.nc' or Name eq 'b'")
    assert either.ids is None and either.filter == {
        "op": "or",
        "args": [
            {"op": "in", "args": [prop("id"), ["a.nc", "a"]]},
            {"op": "=", "args": [prop("id"), "b"]},
        ],
    }


def test_cop_dem_product_names_are_cdse_dged_names_of_the_tiles() -> None:
    """``DEM1_SAR_DGE_30_<start>_<stop>_ADS_000000_<code>.DEM`` ↔ the tile's item id."""
    tile = "Copernicus_DSM_COG_10_N46_00_E007_00_DEM"
    name = "DEM1_SAR_DGE_30_20110524T013519_20130107T021758_ADS_000000_uqyy.DEM"
    item = {"id": tile, "properties": {"eostation:collection": "COPERNICUS_30"}}
    assert product_name(item) == name and item_id_of(name) == tile
    assert set(parse_filter(f"Name eq '{name}'").ids or ()) == {name, tile}
    # Every tile of the globe round-trips, with its own name (W180…E179, S90…N89).
    names = set()
    for lat in range(-90, 90, 3):
        for lon in range(-180, 180, 7):
            ns, ew = ("N" if lat >= 0 else "S", "E" if lon >= 0 else "W")
            tile_id = f"Copernicus_DSM_COG_10_{ns}{abs(lat):02d}_00_{ew}{abs(lon):03d}_00_DEM"
            dem = product_name({"id": tile_id, "collection": "COPERNICUS_30"})
            assert re.fullmatch(DGED_NAME, dem) and item_id_of(dem) == tile_id, (tile_id, dem)
            names.add(dem)
    assert len(names) == 60 * 52
    # A name whose dates do not belong to its code is no tile: looked up as it is.
    forged = name.replace("20110524T013519", "20110524T013520")
    assert item_id_of(forged) == forged.removesuffix(".DEM")
    assert product_name({"id": "not-a-tile", "collection": "COPERNICUS_30"}) == "not-a-tile.DEM"
    dge = parse_filter(
        "Collection/Name eq 'COP-DEM' and Attributes/OData.CSC.StringAttribute/any("
        "att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq 'DGE_30')"
    )
    assert dge.collections == ("COPERNICUS_30",)
    assert dge.filter == {"op": "=", "args": [prop("product:type"), "DGE_30"]}


def test_boolean_structure_or_not_parentheses() -> None:
    got = parse_filter(
        "(Collection/Name eq 'SENTINEL-1' or Collection/Name eq 'SENTINEL-2') and "
        "not (contains(Name,'X') or Online eq false)"
    )
    assert got.collections is None  # an 'or' of collections stays in the filter
    assert got.filter == {
        "op": "and",
        "args": [
            {
                "op": "or",
                "args": [
                    {"op": "in", "args": [prop("collection"), ["SENTINEL1_GRD"]]},
                    {"op": "in", "args": [prop("collection"), ["SENTINEL2_L2A"]]},
                ],
            },
            {"op": "not", "args": [{"op": "like", "args": [prop("id"), "%X%"]}]},
        ],
    }


def test_lifting_collections_intersects_and_a_superset_window() -> None:
    got = parse_filter(
        "Collection/Name eq 'SENTINEL-5P' and OData.CSC.Intersects(location=Footprint,"
        "area=geography'SRID=4326;POINT(12.5 41.9)') and ContentDate/End lt 2021-01-10 and "
        "ContentDate/Start ge 2021-01-01 and Online eq true"
    )
    assert got.collections == ("SENTINEL_5P_L2",)
    assert got.intersects is not None and got.intersects.equals(shapely.Point(12.5, 41.9))
    # the window only narrows the search; the exact comparisons stay in the filter
    assert got.datetime == ("2021-01-01T00:00:00Z", "2021-01-10T00:00:00Z")
    assert got.filter is not None and len(got.filter["args"]) == 2


def test_two_collections_anded_match_nothing_and_unknown_names_pass_through() -> None:
    assert (
        parse_filter(
            "Collection/Name eq 'SENTINEL-1' and Collection/Name eq 'SENTINEL-2'"
        ).collections
        == ()
    )
    assert parse_filter("Collection/Name eq 'my_files'").collections == ("my_files",)


def test_empty_filter_constant_true() -> None:
    assert parse_filter("Online eq true") == ProductFilter()


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("Name eq", 7, "ends too early"),
        ("Name eq 'a' and", 15, "ends too early"),
        ("Name eq 'a' $ 3", 12, "'$ 3'"),
        ("Nmae eq 'x'", 0, "unknown property 'Nmae'"),
        ("Name eq 'a' and ContentDate/Start gt 'x'", 16, "date-time"),
        ("ContentDate/Start gt 2020-13-45T00:00:00Z", None, ""),
        ("Name gt 'a'", 0, "'eq' or 'ne'"),
        ("OData.CSC.Intersects(area=geography'SRID=3857;POINT(1 2)')", 36, "SRID=4326"),
        ("OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((1 2, 3))')", None, "WKT"),
        ("OData.CSC.Intersects(area=geography'SRID=4326;POLYGON((1 2'))", 60, "unexpected ')'"),
        ("Attributes/OData.CSC.StringAttribute/any(att:att/Value eq 'x')", None, "Name eq"),
        ("foo(Name)", None, "Unknown function: 'foo'"),
        ("Collection/Name gt 'SENTINEL-2'", 0, "'eq'"),
        ("ContentDate/Start", None, "not a condition"),
        ("", 0, "empty"),
    ],
)
def test_errors_name_the_parameter_and_position(
    text: str, position: int | None, words: str
) -> None:
    with pytest.raises(ODataQueryInvalid) as info:
        parse_filter(text)
    err = info.value
    assert err.param == "$filter" and err.status == 422 and err.value == text
    assert words in err.reason
    if position is not None:
        assert err.position == position
