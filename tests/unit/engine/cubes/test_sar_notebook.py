"""sar_backscatter on SENTINEL1_GRD loaded with ["VV", "VH"] only, as CDSE notebooks do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits

from .test_core_processes import REGISTRY, Recorder, node, ref

AOI = {"west": 16.3, "south": 48.2, "east": 16.305, "north": 48.205}
DAYS = ["2022-06-01", "2022-06-10"]


def backscatter(bands: list[str], **arguments: Any) -> tuple[Any, Recorder]:
    nodes = {
        "l": node("load_collection", id="SENTINEL1_GRD", spatial_extent=AOI,
                  temporal_extent=DAYS, bands=bands),
        "s": node("sar_backscatter", True, data=ref("l"), **arguments),
    }  # fmt: skip
    recorder = Recorder()
    out = evaluate(
        {"process_graph": nodes}, EvalContext(REGISTRY, EngineLimits(), load_collection=recorder)
    )
    return out.compute(), recorder


@pytest.mark.parametrize("coefficient", ["sigma0-ellipsoid", "gamma0-terrain", "beta0"])
def test_polarisations_only_load_the_angles_behind_the_scenes(coefficient: str) -> None:
    out, recorder = backscatter(["VV", "VH"], coefficient=coefficient)
    full, _ = backscatter(["VV", "VH", "incidence_angle", "local_incidence_angle"],
                          coefficient=coefficient)  # fmt: skip
    assert out.bands.values.tolist() == ["VV", "VH"]
    np.testing.assert_allclose(out.values, full.values, rtol=1e-6)
    requested = recorder.requests[0].bands
    if coefficient == "sigma0-ellipsoid":
        assert requested == ["VV", "VH"]  # nothing to convert: nothing extra read
        raw, _ = backscatter(["VV", "VH"], coefficient=None)
        np.testing.assert_array_equal(out.values, raw.values)
    else:
        assert requested == ["VV", "VH", "incidence_angle", "local_incidence_angle"]
        assert not np.allclose(out.values, backscatter(["VV", "VH"], coefficient=None)[0].values)


def test_extra_angle_band_is_delivered() -> None:
    out, _ = backscatter(["VV"], coefficient="sigma0-ellipsoid", local_incidence_angle=True)
    assert out.bands.values.tolist() == ["VV", "local_incidence_angle"]
    assert float(out.sel(bands="local_incidence_angle").mean()) > 0
