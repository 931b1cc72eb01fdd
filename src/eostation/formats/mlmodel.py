"""The model file of ``save_ml_model``: an unlisted output format.

A model (anything with ``to_bytes()`` and ``properties``, see
:class:`eostation.engine.processes.ml.MLModel`) is written as ``model.skops``, a
format that loads without running code. Its asset carries the role
``ml-model:checkpoint`` and the fields of the STAC ``ml-model`` extension, so
``load_ml_model`` (here or on another backend) can find it. The format is not listed
in ``GET /file_formats``: ``save_result`` is not the way to store a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from eostation.errors import FormatUnsuitable
from eostation.formats.output import OutputFile
from eostation.formats.writer import Writer

__all__ = ["ML_MODEL_EXTENSION", "MLModelWriter"]

ML_MODEL_EXTENSION = "https://stac-extensions.github.io/ml-model/v1.0.0/schema.json"


class MLModelWriter(Writer):
    """Writes a trained model (skops format) with its ``ml-model`` STAC fields."""

    name: ClassVar[str] = "ML-MODEL"
    title: ClassVar[str] = "Machine learning model (skops)"
    description: ClassVar[str] = "A model saved by save_ml_model, in the skops format."
    media_type: ClassVar[str] = "application/octet-stream"
    gis_data_types: ClassVar[tuple[str, ...]] = ()
    listed: ClassVar[bool] = False

    def _write(self, data: Any, directory: Path, options: dict[str, Any]) -> list[OutputFile]:
        if not hasattr(data, "to_bytes"):
            raise FormatUnsuitable(
                format=self.name, reason="only a model from a machine learning process fits."
            )
        path = directory / "model.skops"
        path.write_bytes(data.to_bytes())
        extra = {str(k): v for k, v in dict(getattr(data, "properties", {})).items()}
        extra["eostation:features"] = list(data.features)
        return [
            OutputFile(
                path=path,
                media_type=self.media_type,
                roles=("ml-model:checkpoint",),
                title="Trained model (skops)",
                extra=extra,
            )
        ]
