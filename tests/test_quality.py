"""The package stays clean under the project's linters and type checker.

Each check runs the tool installed next to the interpreter running the tests (the
project's virtual environment) as a subprocess, with the configuration from
``pyproject.toml``; a tool that is not installed skips its test with the reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGETS = ("src", "tests")


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    if not exe.exists():
        pytest.skip(f"{tool} is not installed in {BIN} (pip install -e '.[dev]')")
    return subprocess.run(
        [str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )


def test_ruff_check() -> None:
    done = _run("ruff", "check", "--no-cache", *TARGETS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = _run("ruff", "format", "--check", "--no-cache", *TARGETS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_strict() -> None:
    # The whole package takes ~15 s from a cold cache (~3 s warm), so it all runs here.
    done = _run("mypy", "-p", "eostation")
    assert done.returncode == 0, done.stdout + done.stderr
