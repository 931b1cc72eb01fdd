"""Does the demo world look like the Earth? Statistics by region and season.

Each test names the place and asserts what a wrong world would break: sea where the
real sea is, lakes where the real lakes are, dark water in SAR and in the optical
bands, green crops in June, bare desert, detail at 10 m and no flat scenes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.demo import geography, landcover, optical, world
from eostation.data.demo.grid import Grid, utm_epsg
from eostation.data.demo.noise import seed_of
from eostation.data.demo.parcels import Parcels, large_farms, parcels
from eostation.data.demo.source import day_number
from eostation.data.registry import CollectionRegistry, build_registry

Bbox = tuple[float, float, float, float]

#: Test tiles (west, south, east, north), ~30 km.
TILES: dict[str, Bbox] = {
    "north-sea-coast": (4.30, 52.20, 4.70, 52.50),
    "lake-garda": (10.50, 45.40, 10.90, 45.90),
    "mid-atlantic": (-40.20, 29.80, -39.80, 30.20),
    "sahara": (4.80, 24.80, 5.20, 25.20),
    "amazon": (-62.20, -3.20, -61.80, -2.80),
    "alps": (10.00, 46.30, 10.40, 46.60),
}
PO_VALLEY: Bbox = (10.60, 45.05, 10.66, 45.09)  # crops south of Mantua, ~4.7 × 4.4 km
SAHARA: Bbox = (5.00, 25.00, 5.05, 25.04)
COAST: Bbox = (4.45, 52.30, 4.60, 52.36)  # Zandvoort: a third North Sea, ~10 × 7 km
OPEN_SEA: Bbox = (-40.00, 30.00, -39.96, 30.03)


@pytest.fixture(scope="module")
def registry() -> CollectionRegistry:
    return build_registry()


def load(registry: CollectionRegistry, cid: str, **kw: object) -> xr.DataArray:
    return registry.get(cid).load(LoadRequest(**kw)).compute()  # type: ignore[arg-type]


def static_water(bbox: Bbox, res: float = 40.0) -> tuple[np.ndarray, float]:
    """The optical collections' water mask over a bbox (UTM, 160 m nodes as at 10 m)."""
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    grid = Grid.covering(bbox, utm_epsg(lon, lat), (res, res), node_step=int(160 / res))
    return optical.static(grid.tile(0, grid.ny, 0, grid.nx)).water, res * res


def static_cover(bbox: Bbox, res: float = 40.0) -> np.ndarray:
    """The world's own land-cover classes over a bbox (the optical collections' UTM grid)."""
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    grid = Grid.covering(bbox, utm_epsg(lon, lat), (res, res), node_step=int(160 / res))
    return optical.static(grid.tile(0, grid.ny, 0, grid.nx)).cover()


def mask_fraction(bbox: Bbox) -> float:
    """Water fraction of the shipped data over a bbox: 1 km sea cells plus lake polygons."""
    step = 1.0 / geography.CELLS_PER_DEGREE
    w, s, e, n = bbox
    rows = np.arange(int(np.ceil((90 - n) / step - 0.5)), int(np.floor((90 - s) / step - 0.5)) + 1)
    cols = np.arange(
        int(np.ceil((w + 180) / step - 0.5)), int(np.floor((e + 180) / step - 0.5)) + 1
    )
    row, col = np.meshgrid(rows, cols, indexing="ij")
    lat, lon = 90 - (row + 0.5) * step, (col + 0.5) * step - 180
    water = geography.sea_cells(row, col) | geography.lake_mask(lon, lat)
    # Cells shrink towards the poles; weight them by area as the UTM pixels do.
    weight = np.cos(np.radians(lat))
    return float((water * weight).sum() / weight.sum())


def test_shipped_mask_knows_the_sea_and_the_lakes() -> None:
    points = {
        "mid-Atlantic": (-40.0, 30.0, True),
        "North Sea": (3.0, 54.0, True),
        "Sahara": (5.0, 25.0, False),
        "Po valley": (10.63, 45.07, False),
        "Lake Garda": (10.65, 45.65, True),
        "Lake Superior": (-87.5, 47.6, True),
        "Amsterdam": (4.90, 52.37, False),
    }
    for name, (lon, lat, wet) in points.items():
        lo, la = np.array([lon]), np.array([lat])
        water = geography.sea_fraction(lo, la)[0] > 0.5 or bool(geography.lake_mask(lo, la)[0])
        assert bool(water) is wet, name


@pytest.mark.parametrize("name", sorted(TILES))
def test_water_fraction_follows_the_shipped_mask(name: str) -> None:
    water, _ = static_water(TILES[name])
    expected = mask_fraction(TILES[name])
    assert abs(float(water.mean()) - expected) < 0.02, (name, float(water.mean()), expected)


def test_expected_fractions_of_the_test_tiles() -> None:
    """The tiles test what they claim: open sea, dry land and shores in between."""
    fractions = {name: mask_fraction(bbox) for name, bbox in TILES.items()}
    assert fractions["mid-atlantic"] == 1.0
    assert fractions["sahara"] == fractions["alps"] == 0.0
    assert 0.15 < fractions["north-sea-coast"] < 0.6
    assert 0.1 < fractions["lake-garda"] < 0.3


def test_lake_garda_has_its_real_area() -> None:
    water, pixel_m2 = static_water(TILES["lake-garda"])
    area_km2 = float(water.sum()) * pixel_m2 / 1e6
    assert abs(area_km2 - 370.0) < 37.0, area_km2


def test_dem_is_zero_over_the_sea_and_above_it_on_land(registry: CollectionRegistry) -> None:
    dem = load(registry, "COPERNICUS_30", bbox=COAST, bands=["DEM"])
    height = dem.values[0, 0]
    water, _ = static_water(COAST)
    assert 0.2 < float((height == 0).mean()) < 0.8  # the coast crosses the tile
    assert float((height == 0).mean()) == pytest.approx(float(water.mean()), abs=0.03)
    assert float(height[height > 0].min()) >= 0.5


def test_sentinel2_scl_is_water_over_water(registry: CollectionRegistry) -> None:
    bbox = COAST
    scl = load(
        registry, "SENTINEL2_L2A", bbox=bbox, temporal=("2022-06-01", "2022-07-01"), bands=["SCL"]
    ).values[:, 0]
    water, _ = static_water(bbox, res=10.0)
    assert water.shape == scl.shape[1:] and 0.2 < water.mean() < 0.8
    clear = ~np.isin(scl, (3, 7, 8, 9, 10))
    over_water = clear & water[None]
    assert over_water.sum() > 10_000
    assert float((scl[over_water] == 6).mean()) > 0.95
    assert float((scl[clear & ~water[None]] == 6).mean()) < 0.05


def test_sentinel1_water_is_dark_and_land_is_not(registry: CollectionRegistry) -> None:
    temporal = ("2022-05-01", "2022-06-01")
    sea = load(registry, "SENTINEL1_GRD", bbox=OPEN_SEA, temporal=temporal, bands=["VV", "VH"])
    land = load(registry, "SENTINEL1_GRD", bbox=PO_VALLEY, temporal=temporal, bands=["VV"])
    sea_db = 10 * np.log10(sea.values)
    medians = np.median(sea_db, axis=(2, 3))  # per date and band
    assert medians.shape[0] >= 2
    assert (medians[:, 0] < -18).all() and (medians[:, 0] > -30).all(), medians
    assert (medians[:, 1] < medians[:, 0]).all()
    assert np.ptp(medians[:, 0]) > 0.3  # the wind differs between passes
    land_median = float(np.median(10 * np.log10(land.values)))
    assert -15 < land_median < -5, land_median


def clear_ndvi(
    registry: CollectionRegistry, bbox: Bbox, temporal: tuple[str, str], cover: int
) -> np.ndarray:
    """NDVI of the clear Sentinel-2 pixels of one of the world's land-cover classes."""
    cube = load(
        registry, "SENTINEL2_L2A", bbox=bbox, temporal=temporal, bands=["B04", "B08", "SCL"]
    )
    red, nir, scl = (cube.sel(bands=b).values.astype(np.float64) for b in ("B04", "B08", "SCL"))
    classes = static_cover(bbox, res=10.0)
    assert classes.shape == scl.shape[1:]
    ndvi = (nir - red) / (nir + red)
    return np.asarray(ndvi[np.isin(scl, (4, 5)) & (classes == cover)[None]])


def test_june_crops_are_green_and_the_desert_is_not(registry: CollectionRegistry) -> None:
    june = ("2022-06-01", "2022-07-01")
    crops = clear_ndvi(registry, PO_VALLEY, june, landcover.CROP)
    desert = clear_ndvi(registry, SAHARA, june, landcover.BARE)
    assert crops.size > 100_000 and desert.size > 100_000
    assert np.percentile(crops, 95) > 0.8
    assert np.percentile(desert, 95) < 0.15


#: Land tiles (~30 km) for the land-cover shares, besides :data:`TILES`.
PO_PLAIN: Bbox = (10.40, 44.95, 10.80, 45.20)  # Mantua to the Po, ~31 × 28 km
IOWA: Bbox = (-93.80, 41.90, -93.40, 42.20)
PARIS_BASIN: Bbox = (2.00, 48.60, 2.60, 49.00)
FINLAND: Bbox = (26.00, 62.00, 26.40, 62.20)


def cover_shares(bbox: Bbox) -> dict[str, float]:
    """Share of the land (not water) in each land-cover class (80 m pixels are plenty)."""
    classes = static_cover(bbox, res=80.0)
    land = classes[classes != landcover.WATER]
    assert land.size > 50_000
    return {name: float((land == code).mean()) for name, code in landcover.CLASSES.items()}


def test_land_cover_is_plausible_by_region() -> None:
    """The shares of each class that the Earth has there (the forest rule before this
    made 58 % of the Po plain forest, 61 % of Iowa, 84 % of the Alps tile and 48 % of
    the Amazon)."""
    po = cover_shares(PO_PLAIN)
    assert po["crop"] > 0.5 and po["forest"] < 0.2, po
    for name, bbox in {"Iowa": IOWA, "Paris basin": PARIS_BASIN}.items():
        shares = cover_shares(bbox)
        assert shares["crop"] > 0.6 and shares["forest"] < 0.2, (name, shares)
    assert cover_shares(TILES["amazon"])["forest"] > 0.7
    assert cover_shares(TILES["sahara"])["bare"] > 0.9
    assert cover_shares(FINLAND)["forest"] > 0.6  # the boreal belt
    alps = cover_shares(TILES["alps"])
    assert 0.2 < alps["forest"] < 0.6 and alps["grass"] > 0.2 and alps["bare"] > 0.05, alps
    assert alps["crop"] < 0.2, alps  # fields only on the valley floors


def test_mountains_have_forest_below_the_tree_line_and_rock_above() -> None:
    bbox = TILES["alps"]
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    grid = Grid.covering(bbox, utm_epsg(lon, lat), (40.0, 40.0), node_step=4)
    tile = grid.tile(0, grid.ny, 0, grid.nx)
    classes = optical.static(tile).cover()
    height = tile.interp(world.elevation(*tile.node_lonlat))
    # The real Alps are there: valleys below 1,000 m, peaks above 3,000 m.
    assert np.percentile(height, 10) < 1000 and np.percentile(height, 90) > 3000
    line = float(landcover.tree_line(np.array([lat]))[0])
    assert 2000 < line < 2400
    assert float((classes[height > line + 100] == landcover.FOREST).mean()) < 0.01
    assert float((classes[height < line - 300] == landcover.FOREST).mean()) > 0.4
    assert float((classes[height > line + 1000] == landcover.BARE).mean()) > 0.9
    # The plain below stays low and flat.
    po = Grid.covering(PO_PLAIN, utm_epsg(10.6, 45.1), (40.0, 40.0), node_step=4)
    po_tile = po.tile(0, po.ny, 0, po.nx)
    assert np.percentile(po_tile.interp(world.elevation(*po_tile.node_lonlat)), 99) < 400


def test_no_sentinel2_scene_is_one_value(registry: CollectionRegistry) -> None:
    # The example (5.3–5.6°E, 2022-06-04) and a cloudy and a snowy place.
    places = [(5.30, 46.00, 5.34, 46.03), (-2.0, 56.0, -1.96, 56.03), (10.0, 46.4, 10.04, 46.43)]
    for bbox in places:
        cube = load(
            registry,
            "SENTINEL2_L2A",
            bbox=bbox,
            temporal=("2022-06-01", "2022-07-01"),
            bands=["B04"],
        )
        for t in range(cube.sizes["t"]):
            assert np.unique(cube.values[t, 0]).size > 20, (bbox, str(cube.t.values[t]))


def structured_short_wavelength_share(
    image: np.ndarray, pixel_m: float, wavelength_m: float
) -> float:
    """Share of an image's variance that is *spatially structured* below ``wavelength_m``.

    Per-pixel white noise spreads its power evenly over all frequencies, so on its own
    it puts most of a 10 m image's variance below 100 m. Its level is estimated from the
    corners of the spectrum (both |kx| and |ky| above 1/25 m): structure there is weak,
    and field edges and roads, which run along the grid axes, keep their power near the
    axes. Power below ``wavelength_m`` above that floor is the structured detail.
    """
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    ky = np.abs(np.fft.fftfreq(image.shape[0], d=pixel_m))[:, None]
    kx = np.abs(np.fft.fftfreq(image.shape[1], d=pixel_m))[None, :]
    floor = power[(ky > 1 / 25.0) & (kx > 1 / 25.0)].mean()
    short = np.hypot(ky, kx) > 1.0 / wavelength_m
    return float((power[short] - floor).sum() / power.sum())


def test_structured_share_ignores_white_noise() -> None:
    rng = np.random.default_rng(17)
    noise = rng.normal(0.0, 1.0, (400, 400))
    assert abs(structured_short_wavelength_share(noise, 10.0, 100.0)) < 0.02
    # 40 m stripes (variance 1) under the same noise (variance 1): half the total.
    stripes = np.where(np.arange(400) // 2 % 2 == 0, 1.0, -1.0)[None, :] * np.ones((400, 1))
    share = structured_short_wavelength_share(noise + stripes, 10.0, 100.0)
    assert 0.45 < share < 0.55, share


def test_ten_metre_bands_have_ten_metre_detail(registry: CollectionRegistry) -> None:
    cube = load(
        registry,
        "SENTINEL2_L2A",
        bbox=PO_VALLEY,
        temporal=("2022-06-01", "2022-07-01"),
        bands=["B04", "B08", "SCL"],
    )
    scl = cube.sel(bands="SCL").values
    clear = np.isin(scl, (4, 5)).mean(axis=(1, 2))
    assert (clear > 0.95).sum() >= 3
    # Field edges, margins, roads and 40 m patches, not per-pixel noise: on every clear
    # day, in the red and the NIR (the world before the 10 m parcels scored at most
    # 0.03 here, and 0.81 on the share of all variance below 100 m).
    for t in np.nonzero(clear > 0.95)[0]:
        for band in ("B04", "B08"):
            image = cube.sel(bands=band).values[t].astype(np.float64)
            share = structured_short_wavelength_share(image, 10.0, 100.0)
            assert share > 0.10, (str(cube.t.values[t]), band, share)
    nir = cube.sel(bands="B08").values[int(np.argmax(clear))].astype(np.float64)
    # A 300 m sensor averages that detail away: block means keep little of the variance.
    h, w = (s // 30 * 30 for s in nir.shape)
    blocks = nir[:h, :w].reshape(h // 30, 30, w // 30, 30).mean(axis=(1, 3))
    assert blocks.var() < 0.5 * nir.var()


def field_hectares(west: float, north: float) -> tuple[Parcels, np.ndarray]:
    """Parcels over 0.06° × 0.04° (~10 m pixels) and the area of each field seen there."""
    lon, lat = np.meshgrid(
        np.linspace(west, west + 0.06, 480), np.linspace(north, north - 0.04, 450), indexing="xy"
    )
    farm = parcels(lon, lat, seed_of("parcel"), 1)
    _, counts = np.unique(farm.draws[0], return_counts=True)
    pixel_m2 = (0.06 / 480 * 111_320 * np.cos(np.radians(north - 0.02))) * (0.04 / 450 * 111_320)
    return farm, counts * pixel_m2 / 1e4


def test_fields_are_half_to_fifty_hectares_with_margins_and_roads() -> None:
    farm, hectares = field_hectares(PO_VALLEY[0], PO_VALLEY[3])
    assert hectares.size > 100  # ~4.7 × 4.4 km holds hundreds of fields
    assert hectares.max() > 20 and np.median(hectares) < 10 and (hectares > 0.5).mean() > 0.8
    assert 0.05 < farm.margin.mean() < 0.3
    assert 0.003 < farm.road.mean() < 0.05


def area_weighted_median(hectares: np.ndarray) -> float:
    """Field size that half of the farmland lies in fields smaller than."""
    ordered = np.sort(hectares)
    cumulative = np.cumsum(ordered) / ordered.sum()
    return float(ordered[np.searchsorted(cumulative, 0.5)])


def test_fields_are_large_in_the_grain_belts_and_small_in_europe() -> None:
    small = {"Po valley": (10.60, 45.09), "Alpine valley": (10.00, 46.45)}
    large = {"Iowa": (-93.70, 42.05), "Kursk": (36.10, 51.75), "Pampas": (-61.00, -34.90)}
    small_sizes = {name: area_weighted_median(field_hectares(*nw)[1]) for name, nw in small.items()}
    assert all(size < 6.0 for size in small_sizes.values()), small_sizes
    for name, nw in large.items():
        farm, hectares = field_hectares(*nw)
        size = area_weighted_median(hectares)
        assert 15.0 < size < 50.0 and hectares.size < 200, (name, size, hectares.size)
        assert size > 4 * max(small_sizes.values()), (name, size, small_sizes)
        assert 0.003 < farm.road.mean() < 0.05  # the roads between blocks stay
    # Regions fade into their surroundings over 2°, not at a line.
    assert large_farms(np.array([-115.0, -120.0]), np.array([45.0, 45.0])).tolist() == [0.5, 0.0]


def scene_mean(bbox: Bbox, date: str, field: str) -> float:
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    grid = Grid.covering(bbox, utm_epsg(lon, lat), (40.0, 40.0), node_step=4)
    sc = optical.scene(grid.tile(0, grid.ny, 0, grid.nx), day_number(dt.date.fromisoformat(date)))
    land = ~sc.static.water
    return float(getattr(sc, field)[land].mean())


def test_seasons_follow_the_hemisphere_and_snow_the_cold() -> None:
    pampas: Bbox = (-61.0, -35.0, -60.9, -34.9)
    assert scene_mean(PO_VALLEY, "2022-06-20", "veg") > 2 * scene_mean(
        PO_VALLEY, "2022-12-20", "veg"
    )
    assert scene_mean(pampas, "2022-01-10", "veg") > 2 * scene_mean(pampas, "2022-07-10", "veg")
    lapland: Bbox = (25.0, 68.0, 25.1, 68.05)
    assert scene_mean(lapland, "2022-01-15", "snow") > 0.8
    assert scene_mean(lapland, "2022-07-15", "snow") < 0.05
    assert scene_mean(PO_VALLEY, "2022-07-15", "snow") == 0.0


def test_cloud_shadows_fall_away_from_the_sun() -> None:
    lat = np.array([45.0, -35.0])
    summer_east, summer_north = world.shadow_offset_km(lat, day_number(dt.date(2022, 6, 21)))
    winter_east, winter_north = world.shadow_offset_km(lat, day_number(dt.date(2022, 12, 21)))
    # Late morning: the Sun is east of south in the north, east of north in the south.
    assert (summer_east > 0).all() and winter_north[0] < 0 and summer_north[1] > 0
    # Low winter Sun, long shadows (in each hemisphere's own winter).
    assert np.hypot(winter_east[0], winter_north[0]) > 3 * np.hypot(summer_east[0], summer_north[0])
    assert np.hypot(summer_east[1], summer_north[1]) > 2 * np.hypot(winter_east[1], winter_north[1])


def test_sentinel5p_methane_is_retrieved_over_land_not_over_the_sea(
    registry: CollectionRegistry,
) -> None:
    temporal = ("2022-06-01", "2022-06-15")
    sea = load(
        registry, "SENTINEL_5P_L2", bbox=TILES["mid-atlantic"], temporal=temporal, bands=["CH4"]
    )
    land = load(registry, "SENTINEL_5P_L2", bbox=TILES["sahara"], temporal=temporal, bands=["CH4"])
    assert np.isnan(sea.values).all()
    ch4 = land.values[np.isfinite(land.values)]
    assert ch4.size > 10 and 1750 < float(np.median(ch4)) < 2000
