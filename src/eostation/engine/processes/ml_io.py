"""Models as files: ``save_ml_model`` and ``load_ml_model`` (skops format, never pickle).

``save_ml_model`` hands the model to the result writers (the unlisted ``ML-MODEL``
format, :mod:`eostation.formats.mlmodel`). ``load_ml_model`` reads one back by batch
job id (``EvalContext.job_files``) or from a URL: the model file or a STAC Item with the
``ml-model`` extension. A file may hold only the types skops trusts by default plus the
trees of a forest, so loading never runs code from it. :func:`fetch_bytes` is the one
place these processes go online, and it goes through the
server's outbound-request guard.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urljoin

from eostation.engine.context import EvalContext
from eostation.engine.processes.ml import (
    MODEL_FORMAT,
    MODEL_SCHEMA,
    MLModel,
    as_model,
    ml_error,
    skops_io,
)
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["fetch_bytes", "load_ml_model", "model_from_bytes", "save_ml_model"]

_MAX_BYTES = 256 * 1024**2
_TRUSTED = frozenset({"sklearn.tree._tree.Tree"})
"""Types a trained forest holds beyond skops' defaults; rebuilt from plain arrays, no code."""


@process("save_ml_model", categories=("machine learning", "import"), experimental=True)
def save_ml_model(
    data: Annotated[Any, Param(MODEL_SCHEMA)],
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
    model = as_model(data, "save_ml_model")
    if options:
        raise ml_error("save_ml_model", "options", f"unknown options: {', '.join(options)}.")
    skops_io()
    env.results.append((model, MODEL_FORMAT, {}))
    return True


def fetch_bytes(url: str, env: EvalContext, limit: int = _MAX_BYTES) -> bytes:
    """Download ``url`` (at most ``limit`` bytes): the one place ML processes go online,
    through the server's outbound-request guard (``EvalContext.limits.outbound``)."""
    import httpx

    try:
        with env.limits.outbound.client() as http, http.stream("GET", url) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for part in response.iter_bytes():
                size += len(part)
                if size > limit:
                    raise ml_error("load_ml_model", "id", f"larger than {limit} bytes.")
                chunks.append(part)
    except httpx.HTTPError as exc:
        raise ml_error("load_ml_model", "id", f"download of {url} failed: {exc}") from exc
    return b"".join(chunks)


def model_from_bytes(content: bytes, properties: Mapping[str, Any] | None = None) -> MLModel:
    """A model from skops bytes; refuses any type beyond skops' defaults and forest trees."""
    sio = skops_io()
    try:
        untrusted = [t for t in sio.get_untrusted_types(data=content) if t not in _TRUSTED]
        if untrusted:
            raise ml_error(
                "load_ml_model", "id", f"the model holds untrusted types: {', '.join(untrusted)}."
            )
        estimator = sio.loads(content, trusted=sorted(_TRUSTED))
    except ProcessParameterInvalid:
        raise
    except Exception as exc:  # any parse failure of a foreign file is the user's input
        raise ml_error("load_ml_model", "id", f"not a model in skops format ({exc}).") from exc
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not hasattr(estimator, "predict"):
        raise ml_error("load_ml_model", "id", "the file is not a model trained by eostation.")
    return MLModel(estimator, tuple(str(n) for n in names), dict(properties or {}))


def _from_stac_item(item: Mapping[str, Any], base: str, env: EvalContext) -> MLModel:
    for asset in (item.get("assets") or {}).values():
        if "ml-model:checkpoint" in (asset.get("roles") or []):
            content = fetch_bytes(urljoin(base, str(asset["href"])), env)
            props = {k: v for k, v in asset.items() if str(k).startswith("ml-model:")}
            return model_from_bytes(content, props)
    raise ml_error("load_ml_model", "id", "the STAC Item has no 'ml-model:checkpoint' asset.")


def _from_job(job_id: str, env: EvalContext) -> MLModel:
    models = [path for name, path in env.job_files(job_id).items() if name.endswith(".skops")]
    if len(models) != 1:
        raise ml_error(
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
) -> Annotated[Any, Param(MODEL_SCHEMA)]:
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
    content = fetch_bytes(id_, env)
    if content[:1] == b"{":
        try:
            item = json.loads(content)
        except ValueError as exc:
            raise ml_error("load_ml_model", "id", f"invalid JSON: {exc}") from exc
        return _from_stac_item(item, id_, env)
    return model_from_bytes(content)
