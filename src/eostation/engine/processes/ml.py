"""Machine learning: random forests trained and applied in a process graph (CDSE's ML
processes, openEO 1.x proposals).

``fit_class_random_forest`` trains a scikit-learn ``RandomForestClassifier`` on one
feature vector per geometry (a vector cube, e.g. from ``aggregate_spatial``) and one
class label per geometry (the ``target`` property of a GeoJSON FeatureCollection, as on
CDSE, or the values of a vector cube). ``predict_random_forest`` is a reducer over the
bands dimension. ``save_ml_model`` stores a model as a batch-job result in the skops
format, which is loaded without executing code (no pickle); ``load_ml_model`` reads one
back from a URL (a STAC Item with the ``ml-model`` extension, or the model file).

scikit-learn and skops are the optional ``ml`` extra; without them these processes
answer ``FeatureUnsupported``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urljoin

import numpy as np
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.cubes.geometries import GEOMETRIES_DIM
from eostation.engine.processes.cubes.schemas import VectorCube
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import FeatureUnsupported, ProcessParameterInvalid

__all__ = [
    "MODEL_FORMAT",
    "MLModel",
    "fetch_bytes",
    "fit_class_random_forest",
    "load_ml_model",
    "model_from_bytes",
    "predict_random_forest",
    "save_ml_model",
]

MODEL_FORMAT = "ML-MODEL"
"""The (unlisted) output format ``save_ml_model`` hands to the result writers."""
_MODEL = {"type": "object", "subtype": "ml-model"}
_CATEGORIES = ("machine learning",)
_MAX_BYTES = 256 * 1024**2
_TRUSTED = frozenset({"sklearn.tree._tree.Tree"})
"""Types a trained forest holds beyond skops' defaults; rebuilt from plain arrays, no code."""


@dataclass(frozen=True)
class MLModel:
    """A trained model, the names of its features in order, and its STAC description."""

    estimator: Any
    features: tuple[str, ...]
    properties: Mapping[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The model in the skops format (loadable without running code)."""
        sio = _skops()
        return bytes(sio.dumps(self.estimator))


def _sklearn() -> Any:
    try:
        import sklearn.ensemble
    except ImportError:
        raise FeatureUnsupported(
            message="Machine learning needs scikit-learn: install eostation[ml]."
        ) from None
    return sklearn.ensemble


def _skops() -> Any:
    try:
        import skops.io
    except ImportError:
        raise FeatureUnsupported(
            message="Saving and loading models needs skops: install eostation[ml]."
        ) from None
    return skops.io


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def _features(predictors: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """One row per geometry, one column per label of the other dimensions."""
    if not isinstance(predictors, xr.DataArray) or GEOMETRIES_DIM not in predictors.dims:
        raise _invalid("fit_class_random_forest", "predictors", "expected a vector cube.")
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
            raise _invalid(
                "fit_class_random_forest", "target", "every feature needs a 'target' property."
            ) from None
    elif isinstance(target, xr.DataArray) and GEOMETRIES_DIM in target.dims:
        values = list(
            target.coords["target"].values if "target" in target.coords
            else np.asarray(target.values).reshape(target.sizes[GEOMETRIES_DIM], -1)[:, 0]
        )  # fmt: skip
    else:
        raise _invalid(
            "fit_class_random_forest",
            "target",
            "expected a GeoJSON FeatureCollection with a 'target' property, or a vector cube.",
        )
    if len(values) != count:
        raise _invalid(
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
    raise _invalid(
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
) -> Annotated[Any, Param(_MODEL)]:
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
        raise _invalid(
            "fit_class_random_forest",
            "predictors",
            f"geometry {int(bad[0])} has a null feature (no data for it on some band?).",
        )
    if rows.shape[0] < 2:
        raise _invalid("fit_class_random_forest", "predictors", "at least 2 samples are needed.")
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


def _model(value: Any, process_id: str) -> MLModel:
    if not isinstance(value, MLModel):
        raise _invalid(process_id, "model" if process_id.startswith("predict") else "data",
                       "expected a model from fit_class_random_forest or load_ml_model.")  # fmt: skip
    return value


@process("predict_random_forest", categories=("machine learning", "reducer"), experimental=True)
def predict_random_forest(
    data: Annotated[Any, Param({"type": "array", "items": {"type": ["number", "null"]}})],
    model: Annotated[Any, Param(_MODEL)],
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
    forest = _model(model, "predict_random_forest")
    if isinstance(data, LabeledArray):
        cube, dim = data.data, data.dim
    else:
        cube, dim = xr.DataArray(np.asarray(data, dtype=np.float64), dims=("f",)), "f"
    names = [str(v) for v in cube.coords[dim].values] if dim in cube.coords else []
    if set(names) == set(forest.features):
        cube = cube.sel({dim: list(forest.features)})
    elif cube.sizes[dim] != len(forest.features):
        raise _invalid(
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


@process("save_ml_model", categories=("machine learning", "import"), experimental=True)
def save_ml_model(
    data: Annotated[Any, Param(_MODEL)],
    options: Annotated[
        dict[str, Any], Param({"type": "object", "additionalParameters": False})
    ] = {},  # noqa: B006 - published default, never mutated
    *,
    env: EvalContext,
) -> Annotated[bool, Param({"type": "boolean"})]:
    """Store a model as a result of the batch job, with an `ml-model` STAC description.

    An openEO proposal that CDSE offers. The model file (skops format, loaded without
    executing code) becomes a job result asset with the role `ml-model:checkpoint` and
    the fields of the STAC `ml-model` extension.

    Args:
        data: The model to store.
        options: Reserved; no options are supported yet.

    Returns:
        True once the model is scheduled to be written.
    """
    model = _model(data, "save_ml_model")
    if options:
        raise _invalid("save_ml_model", "options", f"unknown options: {', '.join(options)}.")
    _skops()
    env.results.append((model, MODEL_FORMAT, {}))
    return True


def fetch_bytes(url: str, limit: int = _MAX_BYTES) -> bytes:
    """Download ``url`` (at most ``limit`` bytes): the one place ML processes go online.

    Kept as one small function so that a deployment's outbound-request guard can wrap it.
    """
    import httpx

    try:
        with httpx.stream("GET", url, timeout=60, follow_redirects=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for part in response.iter_bytes():
                size += len(part)
                if size > limit:
                    raise _invalid("load_ml_model", "id", f"larger than {limit} bytes.")
                chunks.append(part)
    except httpx.HTTPError as exc:
        raise _invalid("load_ml_model", "id", f"download of {url} failed: {exc}") from exc
    return b"".join(chunks)


def model_from_bytes(content: bytes, properties: Mapping[str, Any] | None = None) -> MLModel:
    """A model from skops bytes; refuses any type beyond skops' defaults and forest trees."""
    sio = _skops()
    try:
        untrusted = [t for t in sio.get_untrusted_types(data=content) if t not in _TRUSTED]
        if untrusted:
            raise _invalid(
                "load_ml_model", "id", f"the model holds untrusted types: {', '.join(untrusted)}."
            )
        estimator = sio.loads(content, trusted=sorted(_TRUSTED))
    except ProcessParameterInvalid:
        raise
    except Exception as exc:  # any parse failure of a foreign file is the user's input
        raise _invalid("load_ml_model", "id", f"not a model in skops format ({exc}).") from exc
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not hasattr(estimator, "predict"):
        raise _invalid("load_ml_model", "id", "the file is not a model trained by eostation.")
    return MLModel(estimator, tuple(str(n) for n in names), dict(properties or {}))


def _from_stac_item(item: Mapping[str, Any], base: str) -> MLModel:
    for asset in (item.get("assets") or {}).values():
        if "ml-model:checkpoint" in (asset.get("roles") or []):
            content = fetch_bytes(urljoin(base, str(asset["href"])))
            props = {k: v for k, v in asset.items() if str(k).startswith("ml-model:")}
            return model_from_bytes(content, props)
    raise _invalid("load_ml_model", "id", "the STAC Item has no 'ml-model:checkpoint' asset.")


def _from_job(job_id: str, env: EvalContext) -> MLModel:
    models = [path for name, path in env.job_files(job_id).items() if name.endswith(".skops")]
    if len(models) != 1:
        raise _invalid(
            "load_ml_model",
            "id",
            f"batch job '{job_id}' saved {len(models)} models; load one by its asset URL.",
        )
    return model_from_bytes(models[0].read_bytes())


@process(
    "load_ml_model",
    categories=("machine learning", "import"),
    experimental=True,
    exceptions={
        "JobNotFound": "No batch job has this id.",
        "JobNotFinished": "The job is not done.",
    },
)
def load_ml_model(
    id_: Annotated[
        str,
        Param(
            [
                {
                    "title": "URL",
                    "type": "string",
                    "format": "uri",
                    "subtype": "uri",
                    "pattern": "^https?://",
                },
                {
                    "title": "Batch Job ID",
                    "type": "string",
                    "subtype": "job-id",
                    "pattern": "^[\\w\\-\\.~]+$",
                },
            ]
        ),
    ],
    *,
    env: EvalContext,
) -> Annotated[Any, Param(_MODEL)]:
    """Load a model saved by `save_ml_model`, by batch job id or URL.

    An openEO proposal that CDSE offers. A batch job id (one of your finished jobs
    that saved exactly one model) or a URL: a STAC Item with the `ml-model` extension
    (its `ml-model:checkpoint` asset is loaded) or the model file itself, e.g. the link
    of a job's result asset. Only skops files holding trusted scikit-learn types are
    accepted, so loading never runs code from the file.

    Args:
        id: A batch job id, or the URL of a STAC Item or model file.

    Returns:
        The model, for `predict_random_forest`.
    """
    if not id_.startswith(("http://", "https://")):
        return _from_job(id_, env)
    content = fetch_bytes(id_)
    if content[:1] == b"{":
        try:
            item = json.loads(content)
        except ValueError as exc:
            raise _invalid("load_ml_model", "id", f"invalid JSON: {exc}") from exc
        return _from_stac_item(item, id_)
    return model_from_bytes(content)
