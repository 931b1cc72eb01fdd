"""SENTINEL3_SYN_L2_SYN serves reflectance (0–1), as CDSE does since it applies the SYN
files' scale_factor/add_offset (Open-EO/openeo-geopyspark-driver#667): float32 bands
without a scale in the metadata, unlike SENTINEL2_L2A's digital numbers."""

from __future__ import annotations

import numpy as np

from eostation.data.load import load_collection
from eostation.data.registry import build_registry
from eostation.data.request import LoadRequest

REGISTRY = build_registry(None)


def test_syn_metadata_advertises_float_reflectance_without_a_scale() -> None:
    syn = REGISTRY.get("SENTINEL3_SYN_L2_SYN").metadata()["summaries"]["raster:bands"]
    s2 = REGISTRY.get("SENTINEL2_L2A").metadata()["summaries"]["raster:bands"]
    reflectances = [b for b in syn if b["name"].startswith("Syn_Oa")]
    assert len(reflectances) == 16
    assert all(b["data_type"] == "float32" and "scale" not in b and "offset" not in b
               for b in reflectances)  # fmt: skip
    assert {b["name"]: b.get("scale") for b in s2}["B04"] == 0.0001


def test_syn_values_are_reflectance_under_both_band_names() -> None:
    request = LoadRequest(
        bbox=(-15.9, 15.67, -15.8, 15.77),
        temporal=("2023-09-01", "2023-09-04"),
        bands=["Syn_Oa08_reflectance", "SDR_Oa17"],
    )
    cube = load_collection(REGISTRY, "SENTINEL3_SYN_L2_SYN", request).compute()
    assert cube.dtype == np.float32 and list(cube.bands.values) == [
        "Syn_Oa08_reflectance",
        "SDR_Oa17",
    ]
    red, nir = (cube.isel(bands=i).values for i in (0, 1))
    assert 0.02 < np.nanmean(red) < np.nanmean(nir) < 0.8 and np.nanmax(cube.values) <= 1.0
