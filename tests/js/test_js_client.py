"""The official openEO JS client against a live server, logging in as the Web Editor does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.node_support import node_and_npm, npm_ci

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}


def test_js_client_connects_logs_in_and_runs_graphs(tmp_path: Path) -> None:
    node, npm = node_and_npm("the JS client test")
    npm_ci(npm, HERE)
    server = LiveServer(tmp_path / "data", env=FAST).start()
    try:
        secret = (server.data_dir / "local.secret").read_text().strip()
        proc = subprocess.run(
            [node, "run.js", server.url, secret],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["api_version"] == "1.2.0"
    assert "SENTINEL2_L2A" in out["collections"] and "B04" in out["s2_bands"]
    assert out["processes"] >= 100
    # Requests carry a browser's Origin: nothing computes before the login.
    assert out["before_login"] == "AuthenticationRequired"
    assert out["user_id"] == "local"
    assert out["sync_value"] == 42
    assert out["sync_tiff_magic"] == "49492a00" and out["sync_type"].startswith("image/tiff")
    assert (out["job_status"], out["job_assets"], out["job_value"]) == ("finished", 1, 42)
    assert out["job_logs"] and set(out["job_logs"]) <= {"info", "debug", "warning"}
    assert out["udps"] == ["js_add"] and out["udp_value"] == 10
