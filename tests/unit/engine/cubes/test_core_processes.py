"""Core cube processes on the demo collections, through the evaluator, against values
computed by hand with xarray."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.load import load_collection
from eostation.data.registry import build_registry
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import (
    BandFilterParameterMissing,
    DimensionNotAvailable,
    FeatureUnsupported,
    FileTypeInvalid,
    NirBandAmbiguous,
    OpenEOError,
    TemporalExtentEmpty,
)
from eostation.formats.options import Option
from eostation.formats.output import OutputFile
from eostation.formats.registry import FormatRegistry, default_formats
from eostation.formats.writer import Writer

LIMITS = EngineLimits()

REGISTRY = default_registry()
COLLECTIONS = build_registry()
FORMATS = default_formats()
AOI = {"west": 11.0, "south": 46.0, "east": 11.02, "north": 46.015}
MAY = ["2022-05-01", "2022-06-01"]


class Recorder:
    """The real data registry, remembering every LoadRequest it receives."""

    def __init__(self) -> None:
        self.requests: list[LoadRequest] = []

    def __call__(self, collection_id: str, request: LoadRequest) -> xr.DataArray:
        self.requests.append(request)
        return load_collection(COLLECTIONS, collection_id, request)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def env(recorder: Recorder) -> EvalContext:
    return EvalContext(
        REGISTRY, LIMITS, load_collection=recorder, output_format=FORMATS.check_output
    )


def run(env: EvalContext, nodes: dict[str, Any]) -> Any:
    return evaluate({"process_graph": nodes}, env)


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"process_id": process_id, "arguments": arguments}
    if result:
        out["result"] = True
    return out


def ref(node_id: str) -> dict[str, str]:
    return {"from_node": node_id}


def callback(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_graph": {"f": node(process_id, True, **arguments)}}


def load(bands: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return node(
        "load_collection",
        id="SENTINEL2_L2A",
        spatial_extent=AOI,
        temporal_extent=MAY,
        bands=bands,
        **extra,
    )


def by_hand(bands: list[str]) -> xr.DataArray:
    return Recorder()(
        "SENTINEL2_L2A", LoadRequest(bbox=tuple(AOI.values()), temporal=tuple(MAY), bands=bands)
    )  # type: ignore[arg-type]


def test_mean_over_time_equals_xarray(env: EvalContext) -> None:
    graph = {
        "l": load(["B04", "B08"]),
        "r": node("reduce_dimension", True, data=ref("l"), dimension="t",
                  reducer=callback("mean", data={"from_parameter": "data"})),
    }  # fmt: skip
    out = run(env, graph)
    expected = by_hand(["B04", "B08"]).mean("t")
    assert out.chunks is not None, "stays lazy"
    assert out.dims == ("bands", "y", "x")
    assert out.odc.crs == expected.odc.crs and out.odc.geobox == expected.odc.geobox
    xr.testing.assert_allclose(out.compute(), expected.compute(), rtol=1e-6)
    assert out["bands"].attrs["eo:bands"][0]["common_name"] == "red"


def test_ndvi_by_common_names(env: EvalContext) -> None:
    out = run(env, {"l": load(["B04", "B08"]), "n": node("ndvi", True, data=ref("l"))})
    cube = by_hand(["B04", "B08"])
    nir, red = cube.sel(bands="B08"), cube.sel(bands="B04")
    expected = (nir - red) / (nir + red)
    assert "bands" not in out.dims
    np.testing.assert_allclose(out.values, expected.values, rtol=1e-6)
    assert float(np.nanmax(out.values)) <= 1 and float(np.nanmin(out.values)) >= -1


def test_ndvi_target_band_and_errors(env: EvalContext) -> None:
    out = run(env, {"l": load(["B04", "B08"]),
                    "n": node("ndvi", True, data=ref("l"), target_band="NDVI")})  # fmt: skip
    assert list(out["bands"].values) == ["B04", "B08", "NDVI"]
    cube = by_hand(["B04", "B08"])
    nir, red = cube.sel(bands="B08"), cube.sel(bands="B04")
    np.testing.assert_allclose(
        out.sel(bands="NDVI").values, ((nir - red) / (nir + red)).values, rtol=1e-6
    )
    with pytest.raises(NirBandAmbiguous):
        run(env, {"l": load(["B04", "B03"]), "n": node("ndvi", True, data=ref("l"))})


def test_apply_is_one_vectorised_call(env: EvalContext) -> None:
    scale = callback("multiply", x={"from_parameter": "x"}, y=0.5)
    out = run(env, {"l": load(["B02"]), "a": node("apply", True, data=ref("l"), process=scale)})
    cube = by_hand(["B02"])
    assert out.dims == cube.dims and out.chunks is not None
    np.testing.assert_allclose(out.values, (cube * 0.5).values, rtol=1e-6)
    assert out.attrs["collection"] == "SENTINEL2_L2A"


def test_filters_chain(env: EvalContext) -> None:
    graph = {
        "l": load(),
        "b": node("filter_bands", data=ref("l"), bands=["nir", "B02"], wavelengths=[[0.55, 0.57]]),
        "t": node("filter_temporal", data=ref("b"), extent=["2022-05-06", "2022-05-16"]),
        "x": node("filter_bbox", True, data=ref("t"),
                  extent={"west": 655000, "south": 5097000, "east": 655500, "north": 5097600,
                          "crs": 32632}),
    }  # fmt: skip
    out = run(env, graph)
    assert list(out["bands"].values) == ["B08", "B02", "B03"]
    # The demo's Sentinel-2 orbits: a 2-3 day revisit where two swaths overlap.
    days = [str(t)[:10] for t in out["t"].values]
    assert days == ["2022-05-06", "2022-05-08", "2022-05-11", "2022-05-13"]
    xs, ys = out["x"].values, out["y"].values
    assert xs.min() >= 655000 and xs.max() <= 655500 and ys.min() >= 5097000
    assert out.sizes["x"] == 50 and out.odc.geobox is not None


def test_filter_errors(env: EvalContext) -> None:
    with pytest.raises(BandFilterParameterMissing):
        run(env, {"l": load(["B02"]), "b": node("filter_bands", True, data=ref("l"))})
    with pytest.raises(TemporalExtentEmpty):
        run(env, {"l": load(["B02"]),
                  "t": node("filter_temporal", True, data=ref("l"), extent=MAY[::-1])})  # fmt: skip
    with pytest.raises(DimensionNotAvailable):
        run(env, {"l": load(["B02"]), "t": node("filter_temporal", True, data=ref("l"),
                                                extent=MAY, dimension="time")})  # fmt: skip


def test_filter_labels_callback(env: EvalContext) -> None:
    graph = {
        "l": load(["B02", "B03", "B04"]),
        "f": node("filter_labels", True, data=ref("l"), dimension="bands",
                  condition=callback("neq", x={"from_parameter": "value"}, y="B03")),
    }  # fmt: skip
    assert list(run(env, graph)["bands"].values) == ["B02", "B04"]


def test_load_collection_properties_and_featureflags(env: EvalContext, recorder: Recorder) -> None:
    cond = callback("lte", x={"from_parameter": "value"}, y=50)
    out = run(env, {"l": {**load(["B02"], properties={"eo:cloud_cover": cond}), "result": True}})
    everything = by_hand(["B02"])
    assert 0 < out.sizes["t"] <= everything.sizes["t"]
    test = recorder.requests[-1].properties["eo:cloud_cover"]
    assert test(10) is True and test(90) is False
    with pytest.raises(OpenEOError, match="featureflags"):
        run(env, {"l": {**load(["B02"], featureflags={"tilesize": 128}), "result": True}})
    assert recorder.requests[-1].options == {"tilesize": 128}  # the flags, as the sources read them


def test_save_result_appends_validated_output(env: EvalContext) -> None:
    assert run(env, {"l": load(["B02"]),
                     "s": node("save_result", True, data=ref("l"), format="gtiff")}) is True  # fmt: skip
    [(data, fmt, options)] = env.results
    assert fmt == "GTiff" and isinstance(data, xr.DataArray) and "compress" in options
    with pytest.raises(FileTypeInvalid):
        run(env, {"l": load(["B02"]), "s": node("save_result", True, data=ref("l"), format="XYZ")})


class OnlyWriter(Writer):
    """A format only one injected registry knows, with one option of its own."""

    name = "OnlyHere"
    media_type = "application/octet-stream"
    options: ClassVar[dict[str, Option]] = {
        "level": Option("A level.", {"type": "integer"}, default=3)
    }

    def _write(self, data: Any, directory: Any, options: dict[str, Any]) -> list[OutputFile]:
        raise AssertionError("save_result only checks; nothing is written during evaluation")


def test_save_result_checks_against_the_injected_formats(recorder: Recorder) -> None:
    """The format lookup is the context's: the registry whose writers run, not a default one."""
    only = FormatRegistry([OnlyWriter()])
    env = EvalContext(REGISTRY, LIMITS, load_collection=recorder, output_format=only.check_output)
    graph = {"l": load(["B02"]), "s": node("save_result", True, data=ref("l"), format="onlyhere")}
    assert run(env, graph) is True
    [(_, fmt, options)] = env.results
    assert (fmt, options) == ("OnlyHere", {"level": 3})
    with pytest.raises(FileTypeInvalid, match="OnlyHere"):  # GTiff is not in this registry
        run(
            env, {"l": load(["B02"]), "s": node("save_result", True, data=ref("l"), format="GTiff")}
        )
    bare = EvalContext(REGISTRY, LIMITS, load_collection=recorder)
    with pytest.raises(FeatureUnsupported, match="cannot write files"):
        run(
            bare,
            {"l": load(["B02"]), "s": node("save_result", True, data=ref("l"), format="GTiff")},
        )


def test_load_result_hook() -> None:
    cube = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))
    calls: list[str] = []

    def jobs(job_id: str) -> xr.DataArray:
        calls.append(job_id)
        return cube

    env = EvalContext(REGISTRY, LIMITS, load_result=jobs)
    assert run(env, {"r": node("load_result", True, id="j-1")}) is cube and calls == ["j-1"]
    with pytest.raises(OpenEOError, match="load_result"):
        run(EvalContext(REGISTRY, LIMITS), {"r": node("load_result", True, id="j-1")})
