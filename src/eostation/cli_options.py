"""What the ``eostation`` commands share: the ``--data-dir`` option, settings, the console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from eostation.config import Settings

__all__ = ["DataDir", "console", "settings_for"]

console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where the database, results and archive live [env: EOSTATION_DATA_DIR]."
    ),
]


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    """``Settings`` from the environment, with the options given on the command line."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    settings = Settings()
    return settings.model_copy(update=values) if values else settings
