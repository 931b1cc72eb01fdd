"""NDVI by the engine on real Sentinel-2 L1C scenes equals the sample's own NDVI."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from eostation.data.base import LoadRequest
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from tests.conftest import shared_path

LIMITS = EngineLimits()

BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
COMMON = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
SCENE_DATES = [2, 1, 4, 3, 0]  # REFERENCE_SCENES holds these entries of timestamps.json


def slovenia_cube() -> xr.DataArray:
    """The 5 reference scenes as a lazy (t, bands, y, x) cube on their EPSG:32633 grid."""
    folder = shared_path("data", "s2_l1c_eolearn_slovenia")
    scenes = np.load(folder / "REFERENCE_SCENES.npy")  # (t, y, x, bands)
    stamps = json.loads((folder / "timestamps.json").read_text())
    box = GeoBox((101, 100), Affine(10.0, 0.0, 465181.0, 0.0, -10.0, 5080255.0), "EPSG:32633")
    coords = {
        "t": np.array([stamps[i] for i in SCENE_DATES], dtype="datetime64[ns]"),
        "bands": BANDS,
    }
    coords.update(xr_coords(box, dims=("y", "x")))
    data = da.from_array(scenes.transpose(0, 3, 1, 2), chunks=(5, 1, 64, 64))
    cube = xr.DataArray(
        data, dims=("t", "bands", "y", "x"), coords=coords, attrs={"nodata": np.nan}
    )
    cube["bands"].attrs["eo:bands"] = [
        {"name": b, **({"common_name": COMMON[b]} if b in COMMON else {})} for b in BANDS
    ]
    return cube


def test_engine_ndvi_equals_reference_ndvi() -> None:
    folder = shared_path("data", "s2_l1c_eolearn_slovenia")
    cube = slovenia_cube()
    requests: list[LoadRequest] = []

    def load(collection_id: str, request: LoadRequest) -> xr.DataArray:
        requests.append(request)
        return cube

    graph = {
        "load": {"process_id": "load_collection", "arguments": {
            "id": "S2_L1C_SLOVENIA", "spatial_extent": None, "temporal_extent": None}},
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}, "result": True},
    }  # fmt: skip
    out = evaluate(
        {"process_graph": graph}, EvalContext(default_registry(), LIMITS, load_collection=load)
    )
    assert out.chunks is not None and out.dims == ("t", "y", "x")
    assert out.odc.crs.epsg == 32633
    expected = np.load(folder / "NDVI.npy")[SCENE_DATES, :, :, 0]
    np.testing.assert_allclose(out.values, expected, rtol=0, atol=1e-6)
    assert len(requests) == 1
