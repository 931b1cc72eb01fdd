"""The committed dashboard build is what ``npm ci && vite build`` makes from ``web/``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.node_support import node_and_npm, npm_ci

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = ROOT / "src" / "eostation" / "web" / "dist"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_committed_build_matches_a_fresh_build(tmp_path: Path) -> None:
    _node, npm = node_and_npm("the dashboard build check")
    npm_ci(npm, WEB)
    out = tmp_path / "dist"
    proc = subprocess.run(
        [npm, "exec", "--offline", "--", "vite", "build", "--logLevel", "error"],
        cwd=WEB,
        env={**os.environ, "EOSTATION_WEB_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh, committed = _files(out), _files(DIST)
    assert sorted(fresh) == sorted(committed), "rebuild the dashboard: cd web && npx vite build"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"{changed} differ from a fresh build: cd web && npx vite build"
    assert "index.html" in fresh and any(n.endswith(".js") for n in fresh)
