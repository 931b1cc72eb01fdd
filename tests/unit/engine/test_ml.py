"""Random forests in a process graph: fit on vector cubes, predict per pixel, save/load.

The training data separate the classes by band ``a`` alone (class 0 below 5, class 1
from 5 up), so every forest predicts the class of a pixel from ``a`` as written down.
"""

from __future__ import annotations

import http.server
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.processes.cubes.geometries import GeometrySet, object_array, vector_cube
from eostation.engine.processes.ml import MLModel
from eostation.engine.processes.ml_io import model_from_bytes
from eostation.engine.registry import default_registry
from eostation.errors import OpenEOError
from eostation.formats.registry import default_formats
from eostation.outbound import OutboundPolicy
from tests import loopback_http


@pytest.fixture(autouse=True, scope="module")
def _ml_extra() -> None:
    # Here, not at import: importing scikit-learn costs ~1 CPU-s, and every xdist worker
    # imports every test module to collect it.
    pytest.importorskip("sklearn", reason="the ml extra is not installed")
    pytest.importorskip("skops", reason="the ml extra is not installed")


REGISTRY = default_registry()
A = [1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0]
B = [5.0, 1.0, 9.0, 3.0, 4.0, 8.0, 2.0, 6.0]  # no information about the class
CLASSES = [0, 0, 0, 0, 1, 1, 1, 1]


def _predictors() -> xr.DataArray:
    points = GeometrySet(object_array([shapely.Point(i, 0) for i in range(len(A))]))
    return vector_cube(
        points, np.column_stack([A, B]), ("geometries", "bands"), {"bands": ["a", "b"]}
    )


def _target(classes: list[int] = CLASSES) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, 0]},
             "properties": {"target": c}}
            for i, c in enumerate(classes)
        ],
    }  # fmt: skip


def _pixels(bands: tuple[str, str] = ("a", "b")) -> xr.DataArray:
    a = np.array([[0.5, 4.5, 5.5], [9.5, np.nan, 2.0]])
    b = np.full((2, 3), 5.0)
    stack = np.stack([a, b] if bands == ("a", "b") else [b, a])
    return xr.DataArray(
        stack, dims=("bands", "y", "x"),
        coords={"bands": list(bands), "y": [10.0, 0.0], "x": [0.0, 10.0, 20.0]},
    ).chunk({"y": 1})  # fmt: skip


EXPECTED = np.array([[0, 0, 1], [1, np.nan, 0]])


def _fit_predict_graph(**fit: Any) -> dict[str, Any]:
    return {
        "process_graph": {
            "fit": {
                "process_id": "fit_class_random_forest",
                "arguments": {
                    "predictors": {"from_parameter": "p"},
                    "target": _target(),
                    "num_trees": 10,
                    "seed": 1,
                    **fit,
                },
            },
            "pred": {
                "process_id": "reduce_dimension",
                "arguments": {
                    "data": {"from_parameter": "cube"},
                    "dimension": "bands",
                    "context": {"from_node": "fit"},  # as the openeo client passes it
                    "reducer": {
                        "process_graph": {
                            "r": {
                                "process_id": "predict_random_forest",
                                "arguments": {
                                    "data": {"from_parameter": "data"},
                                    "model": {"from_parameter": "context"},
                                },
                                "result": True,
                            }
                        }
                    },
                },
                "result": True,
            },
        }
    }


@pytest.mark.parametrize("bands", [("a", "b"), ("b", "a")])
def test_fit_then_predict_per_pixel(bands: tuple[str, str]) -> None:
    out = evaluate(
        _fit_predict_graph(),
        EvalContext(REGISTRY, EngineLimits()),
        {"p": _predictors(), "cube": _pixels(bands)},
    )
    assert out.dims == ("y", "x")
    np.testing.assert_array_equal(out.values, EXPECTED)


@pytest.mark.parametrize("max_variables", ["all", "sqrt", "log2", "onethird", 1, 2, None])
def test_every_max_variables_option_trains(max_variables: Any) -> None:
    out = evaluate(
        _fit_predict_graph(max_variables=max_variables),
        EvalContext(REGISTRY, EngineLimits()),
        {"p": _predictors(), "cube": _pixels()},
    )
    np.testing.assert_array_equal(out.values, EXPECTED)


def _fit(**arguments: Any) -> Any:
    graph = {"process_graph": {"fit": {
        "process_id": "fit_class_random_forest",
        "arguments": {"predictors": {"from_parameter": "p"}, "target": _target(), **arguments},
        "result": True}}}  # fmt: skip
    return evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"p": _predictors()})


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"target": _target(CLASSES[:5])}, "5 labels for 8 geometries"),
        ({"target": {"type": "FeatureCollection", "features": [{"properties": {}}]}}, "'target'"),
        ({"max_variables": "half"}, "max_variables"),
        ({"predictors": [1, 2, 3]}, "predictors"),
    ],
)
def test_bad_training_input_is_a_clear_error(arguments: dict[str, Any], needle: str) -> None:
    with pytest.raises(OpenEOError) as err:
        _fit(**arguments)
    assert err.value.status == 400 and needle in err.value.message


def test_a_null_feature_is_refused() -> None:
    predictors = _predictors().copy()
    predictors[3, 1] = np.nan
    graph = {"process_graph": {"fit": {
        "process_id": "fit_class_random_forest",
        "arguments": {"predictors": {"from_parameter": "p"}, "target": _target()},
        "result": True}}}  # fmt: skip
    with pytest.raises(OpenEOError, match="geometry 3 has a null feature"):
        evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"p": predictors})


def test_predict_with_the_wrong_number_of_bands_is_refused() -> None:
    model = _fit(num_trees=5, seed=0)
    cube = _pixels().isel(bands=[0]).assign_coords(bands=["c"])
    graph = {"process_graph": {"r": {
        "process_id": "reduce_dimension",
        "arguments": {"data": {"from_parameter": "cube"}, "dimension": "bands",
                      "reducer": {"process_graph": {"p": {
                          "process_id": "predict_random_forest",
                          "arguments": {"data": {"from_parameter": "data"},
                                        "model": {"from_parameter": "m"}},
                          "result": True}}}},
        "result": True}}}  # fmt: skip
    with pytest.raises(OpenEOError, match="1 features given, the model was trained on 2"):
        evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"cube": cube, "m": model})


@pytest.mark.slow
def test_save_writes_a_skops_asset_that_loads_back(tmp_path: Path) -> None:
    context = EvalContext(REGISTRY, EngineLimits())
    graph = {"process_graph": {
        "fit": {"process_id": "fit_class_random_forest",
                "arguments": {"predictors": {"from_parameter": "p"}, "target": _target(),
                              "num_trees": 5, "seed": 0}},
        "save": {"process_id": "save_ml_model", "arguments": {"data": {"from_node": "fit"}},
                 "result": True}}}  # fmt: skip
    assert evaluate(graph, context, {"p": _predictors()}) is True
    [(model, fmt, options)] = context.results
    writer = default_formats().get_writer(fmt)
    assert fmt not in default_formats().describe()["output"]  # not a save_result format
    [written] = writer.write(model, tmp_path, options)
    asset = written.stac_asset()
    assert asset["roles"] == ["ml-model:checkpoint"]
    assert asset["ml-model:architecture"] == "RandomForest"
    assert asset["eostation:features"] == ["a", "b"]
    loaded = model_from_bytes(written.path.read_bytes())
    rows = np.array([[0.0, 5.0], [9.0, 5.0]])
    import pandas as pd

    assert list(loaded.estimator.predict(pd.DataFrame(rows, columns=["a", "b"]))) == [0, 1]
    assert loaded.features == ("a", "b")


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving ``tmp_path``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http.serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path


def _load_and_predict(url: str) -> Any:
    graph = _fit_predict_graph()
    graph["process_graph"]["fit"] = {"process_id": "load_ml_model", "arguments": {"id": url}}
    # The file server runs on loopback, which the outbound guard refuses unless allowed.
    limits = EngineLimits(outbound=OutboundPolicy.parse("127.0.0.0/8"))
    return evaluate(graph, EvalContext(REGISTRY, limits), {"cube": _pixels()})


@pytest.mark.slow
def test_load_from_a_stac_item_url_predicts_as_trained(file_server: tuple[str, Path]) -> None:
    base, root = file_server
    model = _fit(num_trees=10, seed=1)
    assert isinstance(model, MLModel)
    (root / "model.skops").write_bytes(model.to_bytes())
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "m", "properties": {},
            "assets": {"model": {"href": "model.skops", "roles": ["ml-model:checkpoint"]}}}  # fmt: skip
    (root / "item.json").write_text(json.dumps(item))
    np.testing.assert_array_equal(_load_and_predict(f"{base}/item.json").values, EXPECTED)
    np.testing.assert_array_equal(_load_and_predict(f"{base}/model.skops").values, EXPECTED)


def test_load_refuses_code_hidden_in_a_model(file_server: tuple[str, Path]) -> None:
    import os

    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    base, root = file_server
    (root / "evil.skops").write_bytes(skops.io.dumps(FunctionTransformer(func=os.system)))
    with pytest.raises(OpenEOError, match="untrusted types"):
        _load_and_predict(f"{base}/evil.skops")
    (root / "junk.skops").write_bytes(b"not a zip file")
    with pytest.raises(OpenEOError, match="not a model in skops format"):
        _load_and_predict(f"{base}/junk.skops")
    with pytest.raises(OpenEOError, match=r"download of .* failed"):
        _load_and_predict(f"{base}/missing.skops")


def test_load_by_job_id_reads_the_jobs_model_file(tmp_path: Path) -> None:
    model = _fit(num_trees=10, seed=1)
    (tmp_path / "model.skops").write_bytes(model.to_bytes())
    files = {"j-1": {"model.skops": tmp_path / "model.skops", "job.json": tmp_path / "x"},
             "j-2": {"out.tif": tmp_path / "out.tif"}}  # fmt: skip
    context = EvalContext(REGISTRY, EngineLimits(), job_files=lambda job_id: files[job_id])
    graph = _fit_predict_graph()
    graph["process_graph"]["fit"] = {"process_id": "load_ml_model", "arguments": {"id": "j-1"}}
    out = evaluate(graph, context, {"cube": _pixels()})
    np.testing.assert_array_equal(out.values, EXPECTED)
    graph["process_graph"]["fit"]["arguments"]["id"] = "j-2"
    with pytest.raises(OpenEOError, match="batch job 'j-2' saved 0 models"):
        evaluate(graph, context, {"cube": _pixels()})


def test_load_by_job_id_needs_the_jobs_layer() -> None:
    with pytest.raises(OpenEOError) as err:
        _load_and_predict("j-1234")
    assert err.value.code == "FeatureUnsupported" and "j-1234" in err.value.message


@pytest.mark.parametrize("module", ["sklearn.ensemble", "skops.io"])
def test_without_the_ml_extra_the_answer_is_feature_unsupported(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _fit(num_trees=3, seed=0)
    monkeypatch.setitem(sys.modules, module, None)  # makes ``import module`` fail
    graph = {"process_graph": {"s": {"process_id": "save_ml_model",
                                     "arguments": {"data": {"from_parameter": "m"}},
                                     "result": True}}}  # fmt: skip
    with pytest.raises(OpenEOError) as err:
        if module == "sklearn.ensemble":
            _fit(num_trees=3, seed=0)
        else:
            evaluate(graph, EvalContext(REGISTRY, EngineLimits()), {"m": model})
    assert err.value.code == "FeatureUnsupported" and "eostation[ml]" in err.value.message
