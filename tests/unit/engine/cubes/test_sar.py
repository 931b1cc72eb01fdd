"""sar_backscatter on the demo SENTINEL1_GRD, which carries the incidence angles."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from eostation.engine.processes.cubes.sar import sar_backscatter
from eostation.errors import OpenEOError


@pytest.fixture(scope="module")
def grd() -> xr.DataArray:
    request = LoadRequest(bbox=(16.3, 48.2, 16.305, 48.205), temporal=("2022-06-01", "2022-06-10"))
    return build_registry().get("SENTINEL1_GRD").load(request).compute()


@pytest.mark.parametrize(
    "coefficient",
    ["beta0", "sigma0-ellipsoid", "gamma0-ellipsoid", "gamma0-terrain", "sigma0-terrain"],
)
def test_conversions(grd: xr.DataArray, coefficient: str) -> None:
    sigma0 = grd.sel(bands="VH").values
    te, tl = (
        np.radians(grd.sel(bands="incidence_angle").values),
        np.radians(grd.sel(bands="local_incidence_angle").values),
    )
    expected = {
        "beta0": sigma0 / np.sin(te),
        "sigma0-ellipsoid": sigma0,
        "gamma0-ellipsoid": sigma0 / np.cos(te),
        "gamma0-terrain": sigma0 * np.tan(tl) / np.sin(te),
        "sigma0-terrain": sigma0 * np.sin(tl) / np.sin(te),
    }[coefficient]
    out = sar_backscatter(grd, coefficient=coefficient, mask=True, ellipsoid_incidence_angle=True)
    assert out.bands.values.tolist() == ["VV", "VH", "mask", "ellipsoid_incidence_angle"]
    np.testing.assert_allclose(out.sel(bands="VH").values, expected, rtol=1e-5)


def test_cube_without_angles_is_refused(grd: xr.DataArray) -> None:
    with pytest.raises(OpenEOError, match="incidence_angle"):
        sar_backscatter(grd.sel(bands=["VV", "VH"]))


def test_unknown_elevation_model(grd: xr.DataArray) -> None:
    with pytest.raises(OpenEOError) as info:
        sar_backscatter(grd, elevation_model="SRTMGL1")
    assert info.value.params.get("exception") == "DigitalElevationModelInvalid"
