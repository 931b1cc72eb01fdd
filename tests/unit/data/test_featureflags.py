"""CDSE ``featureflags`` as published notebooks spell them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from eostation.errors import ProcessParameterInvalid

REQUEST = {
    "bbox": (5.0, 45.0, 5.3, 45.3),
    "temporal": ("2022-07-01", "2022-07-03"),
    "bands": ["Syn_Oa08_reflectance"],
}
REGISTRY = build_registry()


def load(**options: object) -> xr.DataArray:
    source = REGISTRY.get("SENTINEL3_SYN_L2_SYN")
    return source.load(LoadRequest(options=dict(options), **REQUEST)).compute()  # type: ignore[arg-type]


def test_supersampling_is_super_sampling() -> None:
    # As the Sentinel-3 fusion notebook writes it.
    notebook = load(reprojection_type="binning", supersampling=2)
    documented = load(reprojection_type="binning", super_sampling=2)
    single = load(reprojection_type="binning", super_sampling=1)
    xr.testing.assert_identical(notebook, documented)
    # The option is honoured, not ignored: 2×2 sub-pixels average to other values.
    assert not np.allclose(notebook.values, single.values, equal_nan=True)


def test_unknown_option_names_the_accepted_ones() -> None:
    with pytest.raises(ProcessParameterInvalid) as err:
        load(reprojection_type="binning", super_samplng=2)
    message = str(err.value)
    assert "['super_samplng']" in message
    for name in (
        "flag_band",
        "flag_bitmask",
        "reprojection_type",
        "super_sampling",
        "supersampling",
    ):
        assert f"'{name}'" in message


def test_both_spellings_with_different_values_are_refused() -> None:
    with pytest.raises(ProcessParameterInvalid, match="same option with two values"):
        load(supersampling=2, super_sampling=3)


def test_syn_bands_answer_to_their_sdr_names_and_keep_them_as_labels() -> None:
    source = REGISTRY.get("SENTINEL3_SYN_L2_SYN")
    flags = {"reprojection_type": "binning", "super_sampling": 2, "flag_band": "CLOUD_flags"}
    request = {**REQUEST, "options": flags}
    by_alias = source.load(LoadRequest(**{**request, "bands": ["SDR_Oa08", "SDR_Oa17"]}))  # type: ignore[arg-type]
    by_name = source.load(
        LoadRequest(**{**request, "bands": ["Syn_Oa08_reflectance", "Syn_Oa17_reflectance"]})  # type: ignore[arg-type]
    )
    assert list(by_alias.bands.values) == ["SDR_Oa08", "SDR_Oa17"]
    np.testing.assert_array_equal(by_alias.values, by_name.values)
    assert np.isfinite(by_alias.values).any()
