"""A Pangeo-style notebook against a live server: pystac-client → odc-stac → dask mean,
equal to openEO's load_collection + reduce_dimension(mean) over the same area and dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio
import xarray as xr

pytestmark = pytest.mark.e2e

# Inside MGRS tile 31UES and inside one demo orbit track (so every item covers it whole).
BBOX = (4.30, 50.80, 4.315, 50.81)
DATES = ("2022-05-01T00:00:00Z", "2022-05-31T23:59:59Z")


def test_pystac_client_search_and_odc_stac_mean_equal_load_collection(
    live_server: str, tmp_path: Path
) -> None:
    from odc.stac import load
    from pystac_client import Client

    client = Client.open(f"{live_server}/stac/v1")
    ids = {c.id for c in client.get_collections()}
    assert {"sentinel-2-l2a", "sentinel-1-grd", "cop-dem-glo-30-dged-cog"} <= ids
    search = client.search(
        collections=["sentinel-2-l2a"], bbox=BBOX, datetime="/".join(DATES), limit=4
    )
    assert search.matched() == 6  # 5-day revisit: May 5, 10, …, 30 on this track
    items = search.item_collection()  # pages through next links (limit 4 → 2 pages)
    assert len(items) == 6
    assert {i.properties["s2:mgrs_tile"] for i in items} == {"31UES"}
    assert all(0 <= i.properties["eo:cloud_cover"] <= 100 for i in items)

    ds = load(items, bands=["B04_10m"], crs="EPSG:32631", resolution=10, bbox=BBOX, chunks={})
    red = ds["B04_10m"]
    assert red.sizes["time"] == 6
    stac_mean = red.where(red != 0).astype("float64").mean("time").compute()

    con = openeo.connect(live_server)
    cube = con.load_collection(
        "SENTINEL2_L2A",
        spatial_extent=dict(zip(("west", "south", "east", "north"), BBOX, strict=True)),
        temporal_extent=["2022-05-01", "2022-06-01"],
        bands=["B04"],
    ).reduce_dimension("t", reducer="mean")
    out = tmp_path / "mean.tif"
    cube.download(out, format="GTiff")
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32631
        values = src.read(1)
        xs = src.transform.c + (np.arange(src.width) + 0.5) * src.transform.a
        ys = src.transform.f + (np.arange(src.height) + 0.5) * src.transform.e
    openeo_mean = xr.DataArray(values, coords={"y": ys, "x": xs}, dims=("y", "x"))
    a, b = xr.align(stac_mean, openeo_mean, join="inner")
    assert a.size > 100 * 100
    np.testing.assert_allclose(a.values, b.values.astype("float64"), rtol=0, atol=1e-3)
