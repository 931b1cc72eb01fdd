"""The synthetic demo world: determinism, laziness, physics and request handling."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.registry import CollectionRegistry, build_registry
from eostation.errors import NoDataAvailable, ProcessParameterInvalid

AOI = (11.00, 46.00, 11.03, 46.02)  # ~2.3 × 2.2 km


@pytest.fixture(scope="module")
def registry() -> CollectionRegistry:
    return build_registry()


def load(registry: CollectionRegistry, cid: str, **kw: object) -> xr.DataArray:
    return registry.get(cid).load(LoadRequest(**kw))  # type: ignore[arg-type]


def test_same_request_twice_and_rechunked_is_identical(registry: CollectionRegistry) -> None:
    req = {"bbox": AOI, "temporal": ("2022-06-01", "2022-06-20"), "bands": ["B04", "SCL"]}
    a = load(registry, "SENTINEL2_L2A", **req).compute()
    b = load(registry, "SENTINEL2_L2A", **req)
    source = registry.get("SENTINEL2_L2A")
    source.chunk_xy = 97  # type: ignore[misc]
    try:
        c = load(registry, "SENTINEL2_L2A", **req)
    finally:
        del source.chunk_xy  # type: ignore[misc]
    assert len(c.chunks[2]) > 1
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)


def test_sub_window_is_a_slice_of_the_window(registry: CollectionRegistry) -> None:
    big = load(
        registry, "SENTINEL2_L2A", bbox=AOI, temporal=("2022-06-01", "2022-06-10"), bands=["B08"]
    )
    small = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(11.01, 46.005, 11.02, 46.012),
        temporal=("2022-06-01", "2022-06-10"),
        bands=["B08"],
    )
    expected = big.sel(x=small.x, y=small.y)
    assert small.size > 100
    np.testing.assert_array_equal(small.values, expected.values)


def test_sentinel2_labels_follow_the_orbits(registry: CollectionRegistry) -> None:
    """At 46° N two neighbouring relative orbits overlap: 2-3 days apart, 146 a year."""
    cube = load(
        registry, "SENTINEL2_L2A", bbox=AOI, temporal=("2022-01-01", "2023-01-01"), bands=["B02"]
    )
    steps = np.diff(cube.t.values).astype("timedelta64[D]").astype(int)
    assert set(steps) == {2, 3} and cube.sizes["t"] == 146
    assert (cube.t.values == cube.t.values.astype("datetime64[D]")).all()  # whole days
    source = registry.get("SENTINEL2_L2A")
    acqs = source.acquisitions(AOI, 19358, 19368)  # 2023-01-01..10
    assert [a.date.isoformat() for a in acqs] == [
        "2023-01-01",
        "2023-01-03",
        "2023-01-06",
        "2023-01-08",
    ]
    props = [dict(a.properties) for a in acqs]
    assert [p["platform"] for p in props] == [
        "sentinel-2b",
        "sentinel-2a",
        "sentinel-2a",
        "sentinel-2b",
    ]
    assert {p["sat:relative_orbit"] for p in props} == {22, 65}
    assert all(p["sat:orbit_state"] == "descending" for p in props)
    assert all(
        p["datetime"].startswith(a.date.isoformat() + "T10:")
        for p, a in zip(props, acqs, strict=True)
    )
    assert props[1]["sat:absolute_orbit"] - props[0]["sat:absolute_orbit"] > 8000  # 2A is older


def test_window_without_acquisitions_is_no_data_available(registry: CollectionRegistry) -> None:
    with pytest.raises(NoDataAvailable, match="2022-06-01 and 2022-06-02"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=AOI,
            temporal=("2022-06-01", "2022-06-02"),
            bands=["B02"],
        )
    with pytest.raises(NoDataAvailable, match="operating period"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=AOI,
            temporal=("2015-06-01", "2015-07-01"),
            bands=["B02"],
        )


def test_temporal_extent_is_half_open(registry: CollectionRegistry) -> None:
    cube = load(
        registry, "SENTINEL_5P_L2", bbox=AOI, temporal=("2022-05-01", "2022-05-04"), bands=["O3"]
    )
    assert [str(t)[:10] for t in cube.t.values] == ["2022-05-01", "2022-05-02", "2022-05-03"]


@pytest.mark.slow
def test_value_ranges(registry: CollectionRegistry) -> None:
    s2 = load(registry, "SENTINEL2_L2A", bbox=AOI, temporal=("2022-04-01", "2022-06-01")).compute()
    refl = s2.sel(bands=["B02", "B04", "B08", "B11", "B12"]).values
    assert refl.min() >= 1 and refl.max() <= 20000 and np.isfinite(refl).all()
    assert set(np.unique(s2.sel(bands="SCL").values)) <= {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert set(np.unique(s2.sel(bands="dataMask").values)) == {1}
    for band in ("CLD", "SNW"):
        assert s2.sel(bands=band).min() >= 0 and s2.sel(bands=band).max() <= 100
    s1 = load(registry, "SENTINEL1_GRD", bbox=AOI, temporal=("2021-05-01", "2021-06-01")).compute()
    vv, vh = s1.sel(bands="VV").values, s1.sel(bands="VH").values
    assert (vv > 0).all() and (vh > 0).all()
    assert -16 < 10 * np.log10(vv.mean()) < -5 and -26 < 10 * np.log10(vh.mean()) < -12
    assert (
        s1.sel(bands="incidence_angle").min() >= 29 and s1.sel(bands="incidence_angle").max() <= 46
    )
    slstr = load(
        registry, "SENTINEL3_SLSTR", bbox=(5, 45, 5.5, 45.5), temporal=("2022-07-01", "2022-07-04")
    ).compute()
    for band in ("S5", "S6"):
        r = float(slstr.sel(bands=band).median())
        assert 0.05 < r < 0.5, (band, r)
    bt = slstr.sel(bands=["S8", "S9", "F2"]).values
    assert bt.min() > 200 and bt.max() < 340
    dem = load(registry, "COPERNICUS_30", bbox=(11.0, 46.0, 11.05, 46.05)).compute()
    assert dem.dims == ("t", "bands", "y", "x") and dem.sizes["t"] == 1
    assert float(dem.min()) > -50 and float(dem.max()) < 9000


@pytest.mark.slow
def test_scl_is_consistent_with_reflectance(registry: CollectionRegistry) -> None:
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(11.0, 46.0, 11.05, 46.04),
        temporal=("2022-05-01", "2022-08-01"),
        bands=["B02", "B04", "B08", "SCL"],
    ).compute()
    scl, blue = cube.sel(bands="SCL").values, cube.sel(bands="B02").values
    red, nir = cube.sel(bands="B04").values, cube.sel(bands="B08").values
    ndvi = (nir - red) / (nir + red)
    clouds, veg = scl == 9, scl == 4
    assert clouds.sum() > 1000 and veg.sum() > 1000
    assert np.median(blue[clouds]) > 5000 > np.median(blue[veg])
    assert np.median(ndvi[veg]) > 0.5 and np.median(ndvi[scl == 5]) < np.median(ndvi[veg])
    shadow = scl == 3
    assert shadow.sum() > 0 and np.median(nir[shadow]) < np.median(nir[veg])


def test_l2a_dn_are_harmonised_as_cdse_serves_them(registry: CollectionRegistry) -> None:
    """No BOA_ADD_OFFSET in the DN, before or after baseline 04.00 (2022-01-25)."""
    medians = []
    for temporal in (("2021-06-01", "2021-07-01"), ("2022-06-01", "2022-07-01")):
        cube = load(
            registry,
            "SENTINEL2_L2A",
            bbox=(11.0, 46.0, 11.05, 46.04),
            temporal=temporal,
            bands=["B04", "SCL"],
        ).compute()
        red, scl = cube.sel(bands="B04").values, cube.sel(bands="SCL").values
        medians.append(float(np.median(red[scl == 4])))
    # the same vegetation a year apart: no jump of 1000 DN at the baseline change
    assert abs(medians[1] - medians[0]) < 300, medians
    doc = registry.get("SENTINEL2_L2A").metadata()
    b04 = next(b for b in doc["summaries"]["raster:bands"] if b["name"] == "B04")
    assert b04["scale"] == 0.0001 and "offset" not in b04


def test_official_suites_boolean_mask_site_has_ndvi_above_075(
    registry: CollectionRegistry,
) -> None:
    """openeo-test-suite ``test_boolean_mask``: NDVI > 0.75 both true and false there."""
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(679720, 5151080, 680680, 5151920),
        crs=32632,
        temporal=("2022-06-01", "2022-06-03"),
        bands=["B04", "B08"],
    ).compute()
    red, nir = cube.sel(bands="B04").values, cube.sel(bands="B08").values
    mask = (nir - red) / (nir + red) > 0.75
    assert cube.sizes["t"] == 1 and 0.01 < mask.mean() < 0.99


@pytest.mark.slow
def test_ndvi_has_a_seasonal_cycle_over_vegetation(registry: CollectionRegistry) -> None:
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(11.0, 48.0, 11.03, 48.02),
        temporal=("2021-01-01", "2022-01-01"),
        bands=["B04", "B08", "SCL"],
    ).compute()
    red, nir, scl = (cube.sel(bands=b) for b in ("B04", "B08", "SCL"))
    ndvi = ((nir - red) / (nir + red)).where(scl.isin([4, 5]))
    monthly = ndvi.median(["x", "y"]).groupby("t.month").median()
    summer = float(monthly.sel(month=[6, 7, 8]).max())
    winter = float(monthly.sel(month=[1, 2, 3, 11, 12]).min(skipna=True))
    assert summer > 0.6 and winter < 0.35 and summer - winter > 0.3


def test_out_of_period_and_bad_bbox_raise(registry: CollectionRegistry) -> None:
    with pytest.raises(NoDataAvailable, match=r"operating period.*2017-03-28"):
        load(registry, "SENTINEL2_L2A", bbox=AOI, temporal=("2016-01-01", "2016-06-01"))
    with pytest.raises(NoDataAvailable, match="2018-04-30"):
        load(registry, "SENTINEL_5P_L2", bbox=AOI, temporal=("2017-01-01", "2018-01-01"))
    with pytest.raises(ProcessParameterInvalid, match="empty"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=(11.0, 46.0, 10.0, 47.0),
            temporal=("2022-01-01", "2022-02-01"),
        )
    with pytest.raises(ProcessParameterInvalid, match="outside"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=(170.0, 80.0, 200.0, 95.0),
            temporal=("2022-01-01", "2022-02-01"),
        )
    with pytest.raises(ProcessParameterInvalid, match="B10"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=AOI,
            temporal=("2022-01-01", "2022-02-01"),
            bands=["B10"],
        )


def test_bands_by_common_name(registry: CollectionRegistry) -> None:
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=AOI,
        temporal=("2022-06-01", "2022-06-10"),
        bands=["nir", "red", "B02"],
    )
    assert list(cube.bands.values) == ["B08", "B04", "B02"]
    with pytest.raises(ProcessParameterInvalid, match="ambiguous"):
        load(
            registry,
            "SENTINEL2_L2A",
            bbox=AOI,
            temporal=("2022-06-01", "2022-06-10"),
            bands=["rededge"],
        )


def test_grid_via_odc_geobox(registry: CollectionRegistry) -> None:
    cube = load(
        registry, "SENTINEL2_L2A", bbox=AOI, temporal=("2022-06-01", "2022-06-10"), bands=["B02"]
    )
    gbox = cube.odc.geobox
    assert gbox.crs.epsg == 32632 and gbox.resolution.x == 10 and gbox.resolution.y == -10
    assert gbox.transform.c % 10 == 0 and gbox.transform.f % 10 == 0
    assert float(cube.x[1] - cube.x[0]) == 10 and float(cube.x[0]) % 10 == 5
    s5p = load(
        registry,
        "SENTINEL_5P_L2",
        bbox=(5, 45, 6, 46),
        temporal=("2022-05-01", "2022-05-02"),
        bands=["CH4"],
    )
    assert s5p.odc.geobox.crs.epsg == 4326 and s5p.shape[2:] == (20, 16)


def test_building_a_huge_cube_computes_nothing(
    registry: CollectionRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = registry.get("SENTINEL2_L2A")
    calls: list[int] = []
    original = source.render  # type: ignore[attr-defined]

    def counting(tile, band, acqs, options):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(tile, band, acqs, options)

    monkeypatch.setattr(source, "render", counting)
    # ~100 km × 100 km at 10 m: 10,000 × 10,000 pixels per band.
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(10.5, 46.0, 11.8, 46.9),
        temporal=("2022-06-01", "2022-07-01"),
    )
    assert cube.sizes["x"] >= 9_000 and cube.sizes["y"] >= 9_000 and not calls
    with dask.config.set(scheduler="synchronous"):
        cube.isel(bands=[3], y=slice(0, 5), x=slice(0, 5)).compute()
    assert len(calls) == 1  # one band, one spatial chunk (all dates in it)


def test_sentinel5p_methane_seed_workflow(registry: CollectionRegistry) -> None:
    for bbox in ((-103.0, 31.5, -102.0, 32.5), (54.0, 38.5, 55.0, 39.5), (11.0, 46.0, 11.5, 46.5)):
        cube = load(
            registry,
            "SENTINEL_5P_L2",
            bbox=bbox,
            temporal=("2022-05-01", "2022-06-01"),
            bands=["CH4"],
        )
        series = cube.mean(["x", "y"]).compute().values.ravel()
        valid = series[np.isfinite(series)]
        assert 20 <= valid.size <= 31, bbox
        assert valid.min() > 1700 and valid.max() < 2100


@pytest.mark.slow
def test_sentinel5p_has_quality_gaps(registry: CollectionRegistry) -> None:
    cube = load(
        registry,
        "SENTINEL_5P_L2",
        bbox=(0, 45, 10, 55),
        temporal=("2022-05-01", "2022-05-08"),
        bands=["CH4", "O3"],
    )
    values = cube.compute()
    ch4_nan = float(np.isnan(values.sel(bands="CH4")).mean())
    assert 0.05 < ch4_nan < 0.9 and float(np.isnan(values.sel(bands="O3")).mean()) < ch4_nan
    o3 = values.sel(bands="O3").values
    assert np.nanmin(o3) > 0.09 and np.nanmax(o3) < 0.25


def test_methane_plumes_over_basins(registry: CollectionRegistry) -> None:
    def mean_ch4(bbox: tuple[float, float, float, float]) -> float:
        cube = load(
            registry,
            "SENTINEL_5P_L2",
            bbox=bbox,
            temporal=("2022-05-01", "2022-06-01"),
            bands=["CH4"],
        )
        return float(cube.max(["x", "y"]).mean().compute())

    assert mean_ch4((53.5, 38.5, 54.5, 39.5)) > mean_ch4((60.5, 38.5, 61.5, 39.5)) + 20


def test_sentinel3_binning_excludes_flagged_pixels(registry: CollectionRegistry) -> None:
    req = {
        "bbox": (5, 45, 5.5, 45.5),
        "temporal": ("2022-07-01", "2022-07-06"),
        "bands": ["Syn_Oa08_reflectance"],
    }
    plain = load(registry, "SENTINEL3_SYN_L2_SYN", **req).compute()
    flags = {
        "reprojection_type": "binning",
        "super_sampling": 2,
        "flag_band": "CLOUD_flags",
        "flag_bitmask": 255,
    }
    binned = load(registry, "SENTINEL3_SYN_L2_SYN", options=flags, **req).compute()
    assert binned.shape == plain.shape
    # Clouds are bright in the red; binning without cloudy sub-pixels is darker and has gaps.
    assert float(binned.mean()) < float(plain.mean()) and 0 < float(np.isnan(binned).mean()) < 1
    with pytest.raises(ProcessParameterInvalid):
        load(registry, "SENTINEL3_SYN_L2_SYN", options={"frobnicate": 1}, **req)


def test_properties_filter_on_cloud_cover(registry: CollectionRegistry) -> None:
    req = {
        "bbox": (11.0, 46.0, 11.2, 46.2),
        "temporal": ("2022-01-01", "2023-01-01"),
        "bands": ["B02"],
    }
    everything = load(registry, "SENTINEL2_L2A", **req)
    clear = load(registry, "SENTINEL2_L2A", properties={"eo:cloud_cover": lambda v: v <= 20}, **req)
    assert 0 < clear.sizes["t"] < everything.sizes["t"]
    s1 = load(
        registry,
        "SENTINEL1_GRD",
        bbox=AOI,
        temporal=("2022-01-01", "2022-03-01"),
        bands=["VV"],
        properties={"sat:orbit_state": lambda v: v == "ascending"},
    )
    assert s1.sizes["t"] >= 4 and np.all(
        np.diff(s1.t.values).astype("timedelta64[D]").astype(int) == 12
    )
    with pytest.raises(ProcessParameterInvalid, match="queryable"):
        load(registry, "SENTINEL2_L2A", properties={"nope": lambda v: True}, **req)


def test_aligned_utm_bbox_gets_exactly_its_pixels(registry: CollectionRegistry) -> None:
    """Issue #11 item 16: 680000-680100 / 5151500-5151600 is 10 × 10 pixels, not 12 × 12."""
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(680000, 5151500, 680100, 5151600),
        crs=32632,
        temporal=("2023-06-01", "2023-06-10"),
        bands=["B04"],
    )
    assert (cube.sizes["y"], cube.sizes["x"]) == (10, 10)
    assert cube.x.values[0] == 680005 and cube.x.values[-1] == 680095
    assert cube.y.values[0] == 5151595 and cube.y.values[-1] == 5151505
    # Adjacent extents share no pixel; a sub-pixel bbox gets the pixel under its centre.
    right = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(680100, 5151500, 680200, 5151600),
        crs=32632,
        temporal=("2023-06-01", "2023-06-10"),
        bands=["B04"],
    )
    assert right.x.values[0] == 680105
    dot = load(
        registry,
        "SENTINEL2_L2A",
        bbox=(680001, 5151501, 680002, 5151502),
        crs=32632,
        temporal=("2023-06-01", "2023-06-10"),
        bands=["B04"],
    )
    assert dot.x.values.tolist() == [680005] and dot.y.values.tolist() == [5151505]


def test_lonlat_bbox_gets_the_pixels_whose_centres_are_inside(registry: CollectionRegistry) -> None:
    from odc.geo import geom

    bbox = (11.0, 46.0, 11.01, 46.01)
    cube = load(
        registry, "SENTINEL2_L2A", bbox=bbox, temporal=("2023-06-01", "2023-06-10"), bands=["B04"]
    )
    w, s, e, n = geom.box(*bbox, 4326).to_crs(32632, resolution=0.001).boundingbox
    x, y = cube.x.values, cube.y.values
    assert w <= x[0] and x[-1] < e and s < y[-1] and y[0] <= n
    assert x[0] - 10 < w and x[-1] + 10 >= e and y[0] + 10 > n and y[-1] - 10 <= s
    # On an EPSG:4326 lattice (Sentinel-3 OLCI, 1/360°) an aligned bbox is exact too.
    olci = load(
        registry,
        "SENTINEL3_OLCI_L1B",
        bbox=(11.0, 46.0, 11.1, 46.05),
        temporal=("2023-06-01", "2023-06-03"),
        bands=["B01"],
    )
    assert (olci.sizes["y"], olci.sizes["x"]) == (18, 36)
    assert olci.x.values[0] == pytest.approx(11.0 + 0.5 / 360)


def test_collections_declare_the_version_extension_for_deprecated(
    registry: CollectionRegistry,
) -> None:
    """STAC: ``deprecated`` is a field of the version extension (the official suite checks it)."""
    version = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
    for cid in (
        "SENTINEL2_L2A",
        "SENTINEL1_GRD",
        "SENTINEL3_OLCI_L1B",
        "SENTINEL3_SLSTR_L2_LST",
        "SENTINEL_5P_L2",
        "COPERNICUS_30",
    ):
        doc = registry.get(cid).metadata()
        assert "deprecated" not in doc or version in doc["stac_extensions"], cid
