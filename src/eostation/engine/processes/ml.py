"""Machine learning: random forests trained and applied in a process graph (CDSE's ML
processes, openEO 1.x proposals).

``fit_class_random_forest`` trains a scikit-learn ``RandomForestClassifier`` on one
feature vector per geometry (a vector cube, e.g. from ``aggregate_spatial``) and one
class label per geometry (the ``target`` property of a GeoJSON FeatureCollection, as on
CDSE, or the values of a vector cube). ``predict_random_forest`` is a reducer over the
bands dimension. Saving and loading models: :mod:`eostation.engine.processes.ml_io`.

scikit-learn and skops are the optional ``ml`` extra; without them these processes
answer ``FeatureUnsupported``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes.geometries import GEOMETRIES_DIM
from eostation.engine.processes.cubes.schemas import VectorCube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import FeatureUnsupported, ProcessParameterInvalid

__all__ = [
    "MODEL_FORMAT",
    "MODEL_SCHEMA",
    "MLModel",
    "as_model",
    "fit_class_random_forest",
    "ml_error",
    "predict_random_forest",
    "skops_io",
]

MODEL_FORMAT = "ML-MODEL"
"""The (unlisted) output format ``save_ml_model`` hands to the result writers."""
MODEL_SCHEMA = {"type": "object", "subtype": "ml-model"}
_CATEGORIES = ("machine learning",)


@dataclass(frozen=True)
class MLModel:
    """A trained model, the names of its features in order, and its STAC description."""

    estimator: Any
    features: tuple[str, ...]
    properties: Mapping[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The model in the skops format (loadable without running code)."""
        sio = skops_io()
        return bytes(sio.dumps(self.estimator))


def _sklearn() -> Any:
    try:
        import sklearn.ensemble
    except ImportError:
        raise FeatureUnsupported(
            message="Machine learning needs scikit-learn: install eostation[ml]."
        ) from None
    return sklearn.ensemble


def skops_io() -> Any:
    """The ``skops.io`` module; ``FeatureUnsupported`` when the ml extra is missing."""
    try:
        import skops.io
    except ImportError:
        raise FeatureUnsupported(
            message="Saving and loading models needs skops: install eostation[ml]."
        ) from None
    return skops.io


def ml_error(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    """The error for an invalid argument of a machine learning process."""
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def _features(predictors: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """One row per geometry, one column per label of the other dimensions."""
    if not isinstance(predictors, xr.DataArray) or GEOMETRIES_DIM not in predictors.dims:
        raise ml_error("fit_class_random_forest", "predictors", "expected a vector cube.")
    ordered = predictors.transpose(GEOMETRIES_DIM, ...)
    rest = [d for d in ordered.dims if d != GEOMETRIES_DIM]
    rows = np.asarray(ordered.values, dtype=np.float64).reshape(ordered.sizes[GEOMETRIES_DIM], -1)
    labels = [[str(v) for v in ordered.coords[d].values] if d in ordered.coords else
              [str(i) for i in range(ordered.sizes[d])] for d in rest]  # fmt: skip
    names: list[str] = [""]
    for dim_labels in labels:
        names = [f"{n}_{lab}" if n else lab for n in names for lab in dim_labels]
    return rows, tuple(names) if rest else ("value",)


def _labels(target: Any, count: int) -> np.ndarray:
    if isinstance(target, Mapping) and target.get("type") == "FeatureCollection":
        try:
            values = [f["properties"]["target"] for f in target.get("features", [])]
        except (KeyError, TypeError):
            raise ml_error(
                "fit_class_random_forest", "target", "every feature needs a 'target' property."
            ) from None
    elif isinstance(target, xr.DataArray) and GEOMETRIES_DIM in target.dims:
        values = list(
            target.coords["target"].values if "target" in target.coords
            else np.asarray(target.values).reshape(target.sizes[GEOMETRIES_DIM], -1)[:, 0]
        )  # fmt: skip
    else:
        raise ml_error(
            "fit_class_random_forest",
            "target",
            "expected a GeoJSON FeatureCollection with a 'target' property, or a vector cube.",
        )
    if len(values) != count:
        raise ml_error(
            "fit_class_random_forest",
            "target",
            f"{len(values)} labels for {count} geometries of the predictors.",
        )
    return np.asarray(values)


def _max_features(max_variables: Any, count: int) -> Any:
    if max_variables is None or max_variables == "onethird":
        return max(1, count // 3)
    if max_variables == "all":
        return None
    if max_variables in ("log2", "sqrt"):
        return max_variables
    if (
        isinstance(max_variables, int)
        and not isinstance(max_variables, bool)
        and max_variables >= 1
    ):
        return min(max_variables, count)
    raise ml_error(
        "fit_class_random_forest",
        "max_variables",
        "expected an integer >= 1 or one of 'all', 'log2', 'onethird', 'sqrt'.",
    )


@process("fit_class_random_forest", categories=_CATEGORIES, experimental=True)
def fit_class_random_forest(
    predictors: VectorCube,
    target: Annotated[
        Any,
        Param(
            [
                {"type": "object", "subtype": "geojson"},
                {"type": "object", "subtype": "datacube", "dimensions": [{"type": "geometry"}]},
            ]
        ),
    ],
    max_variables: Annotated[
        Any,
        Param(
            [
                {"type": "integer", "minimum": 1},
                {"type": "string", "enum": ["all", "log2", "onethird", "sqrt"]},
                {"type": "null"},
            ]
        ),
    ] = None,
    num_trees: Annotated[int, Param({"type": "integer", "minimum": 1})] = 100,
    seed: Annotated[int | None, Param({"type": ["integer", "null"]})] = None,
) -> Annotated[Any, Param(MODEL_SCHEMA)]:
    """Train a random forest classifier (Breiman 2001) on features per geometry.

    An openEO proposal that CDSE offers. Each geometry of `predictors` is one training
    sample; its values across the other dimensions (bands, times) are the features.
    Its class comes from `target`: the `target` property of the matching feature of a
    GeoJSON FeatureCollection (CDSE's form), or the value of a vector cube. A sample
    with a null feature is refused. Trained with scikit-learn.

    Args:
        predictors: A vector cube: one feature vector per geometry.
        target: The class of each geometry, in the same order: a FeatureCollection
            whose features have a `target` property, or a vector cube.
        max_variables: How many features each split considers: a number, `all`,
            `log2`, `sqrt` or `onethird`; null is a third of the features (CDSE).
        num_trees: The number of trees.
        seed: A seed for reproducible training; null for a random one.

    Returns:
        The trained model, for `predict_random_forest` or `save_ml_model`.
    """
    rows, names = _features(predictors)
    labels = _labels(target, rows.shape[0])
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    if bad.size:
        raise ml_error(
            "fit_class_random_forest",
            "predictors",
            f"geometry {int(bad[0])} has a null feature (no data for it on some band?).",
        )
    if rows.shape[0] < 2:
        raise ml_error("fit_class_random_forest", "predictors", "at least 2 samples are needed.")
    import pandas as pd

    forest = _sklearn().RandomForestClassifier(
        n_estimators=int(num_trees),
        max_features=_max_features(max_variables, rows.shape[1]),
        random_state=seed,
    )
    forest.fit(pd.DataFrame(rows, columns=list(names)), labels)
    properties = {
        "ml-model:type": "ml-model",
        "ml-model:learning_approach": "supervised",
        "ml-model:prediction_type": "classification",
        "ml-model:architecture": "RandomForest",
        "ml-model:training-processor-type": "cpu",
    }
    return MLModel(forest, names, properties)


def as_model(value: Any, process_id: str) -> MLModel:
    """``value`` as a model; ``ProcessParameterInvalid`` for anything else."""
    if not isinstance(value, MLModel):
        raise ml_error(process_id, "model" if process_id.startswith("predict") else "data",
                       "expected a model from fit_class_random_forest or load_ml_model.")  # fmt: skip
    return value


@process("predict_random_forest", categories=("machine learning", "reducer"), experimental=True)
def predict_random_forest(
    data: Annotated[Any, Param({"type": "array", "items": {"type": ["number", "null"]}})],
    model: Annotated[Any, Param(MODEL_SCHEMA)],
) -> Annotated[Any, Param({"type": ["number", "null"]})]:
    """The class a random forest predicts for a feature vector (a reducer over bands).

    An openEO proposal that CDSE offers. Use it as the reducer of `reduce_dimension`
    over the bands dimension: the bands are the features, matched to the training
    features by name when the names agree, else by position. A pixel with a null
    feature gives null.

    Args:
        data: The feature vector: the bands of a pixel.
        model: A model from `fit_class_random_forest` or `load_ml_model`.

    Returns:
        The predicted class, null where a feature is null.
    """
    forest = as_model(model, "predict_random_forest")
    if isinstance(data, LabeledArray):
        cube, dim = data.data, data.dim
    else:
        cube, dim = xr.DataArray(np.asarray(data, dtype=np.float64), dims=("f",)), "f"
    names = [str(v) for v in cube.coords[dim].values] if dim in cube.coords else []
    if set(names) == set(forest.features):
        cube = cube.sel({dim: list(forest.features)})
    elif cube.sizes[dim] != len(forest.features):
        raise ml_error(
            "predict_random_forest",
            "data",
            f"{cube.sizes[dim]} features given, the model was trained on "
            f"{len(forest.features)} ({', '.join(forest.features)}).",
        )
    estimator = forest.estimator

    def predict(block: np.ndarray) -> np.ndarray:
        flat = block.reshape(-1, block.shape[-1]).astype(np.float64)
        out = np.full(flat.shape[0], np.nan)
        ok = np.isfinite(flat).all(axis=1)
        if ok.any():
            import pandas as pd

            frame = pd.DataFrame(flat[ok], columns=list(forest.features))
            out[ok] = np.asarray(estimator.predict(frame), dtype=np.float64)
        return out.reshape(block.shape[:-1])

    if cube.chunks is not None:
        cube = cube.chunk({dim: -1})
    result = xr.apply_ufunc(
        predict, cube, input_core_dims=[[dim]], dask="parallelized", output_dtypes=[np.float64]
    )
    return result if result.ndim else float(result.values)
