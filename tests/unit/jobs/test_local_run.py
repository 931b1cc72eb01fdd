"""``eostation run``: a graph executed locally by the real CLI, outputs read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from eostation.data.base import LoadRequest
from eostation.data.registry import build_registry
from tests.graphs import reduce_mean

# Every test starts `eostation run` in a fresh interpreter: about 10 s each on 2 cores.
pytestmark = pytest.mark.slow

BBOX = {"west": 11.0, "south": 46.0, "east": 11.005, "north": 46.005}
LOAD = {
    "process_id": "load_collection",
    "arguments": {
        "id": "SENTINEL2_L2A",
        "spatial_extent": BBOX,
        "temporal_extent": ["2022-06-01", "2022-06-16"],
        "bands": ["B04"],
    },
}
MEAN = reduce_mean({"from_node": "load"})


def run_cli(tmp_path: Path, graph: dict, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[type-arg]
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(graph))
    cmd = [
        sys.executable,
        "-m",
        "eostation",
        "run",
        str(path),
        "--data-dir",
        str(tmp_path / "data"),
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def expected_mean() -> np.ndarray:
    cube = (
        build_registry()
        .get("SENTINEL2_L2A")
        .load(
            LoadRequest(
                bbox=(11.0, 46.0, 11.005, 46.005),
                temporal=("2022-06-01", "2022-06-16"),
                bands=["B04"],
            )
        )
    )
    return np.asarray(cube.mean("t").isel(bands=0).values)


def test_scalar_graph_to_json(tmp_path: Path) -> None:
    graph = {
        "i": {
            "process_id": "inspect",
            "arguments": {"data": 5, "message": "checking", "level": "warning"},
        },
        "a": {"process_id": "add", "arguments": {"x": {"from_node": "i"}, "y": 2}, "result": True},
    }
    out = tmp_path / "value.json"
    proc = run_cli(tmp_path, {"process_graph": graph}, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == 7
    assert "warning: checking" in proc.stderr
    assert proc.stdout.strip() == str(out)


def test_cube_graph_with_save_result_to_netcdf(tmp_path: Path) -> None:
    save = {
        "process_id": "save_result",
        "arguments": {"data": {"from_node": "mean"}, "format": "netCDF"},
        "result": True,
    }
    out = tmp_path / "mean.nc"
    proc = run_cli(
        tmp_path,
        {"process": {"process_graph": {"load": LOAD, "mean": MEAN, "save": save}}},
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(out) as ds:
        np.testing.assert_allclose(ds["B04"].values, expected_mean(), rtol=1e-6)
    assert not list(tmp_path.glob(".eostation-run-*")), "temporary folder left behind"


def test_graph_without_save_result_takes_the_format_from_the_file_name(tmp_path: Path) -> None:
    out = tmp_path / "mean.tif"
    proc = run_cli(tmp_path, {"load": LOAD, "mean": {**MEAN, "result": True}}, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 32632
        np.testing.assert_allclose(ds.read(1), expected_mean(), rtol=1e-6)


def test_errors_are_reported_without_a_traceback(tmp_path: Path) -> None:
    proc = run_cli(
        tmp_path, {"a": {"process_id": "no_such_process", "arguments": {}, "result": True}}
    )
    assert proc.returncode == 1
    assert "ProcessUnsupported" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "broken.json").write_text("{nope")
    cmd = [
        sys.executable,
        "-m",
        "eostation",
        "run",
        str(tmp_path / "broken.json"),
        "--data-dir",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "ProcessGraphMissing" in proc.stderr
