"""Node.js for the tests that need it: found (or skipped/failed), and ``npm ci`` once per lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def node_and_npm(purpose: str) -> tuple[str, str]:
    """Paths of ``node`` and ``npm``; skips without them, fails under ``CI=true``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    if os.environ.get("CI") == "true":
        pytest.fail("Node.js and npm are required in CI (.ci/run installs them with apt-get)")
    pytest.skip(f"Node.js/npm are not installed: {purpose} needs them")


def npm_ci(npm: str, folder: Path) -> None:
    """``npm ci`` in ``folder`` from its committed lock file, unless node_modules matches it."""
    marker = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
        timeout=600,
        capture_output=True,
    )
