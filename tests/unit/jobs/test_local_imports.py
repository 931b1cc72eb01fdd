"""``eostation run`` loads what it needs: no SQL store, no dask.distributed, no archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.transform

SCRIPT = """
import json, sys
from pathlib import Path
from eostation.cli import app  # every command registers: the archive's modules must stay out
from eostation.config import Settings
from eostation.data.registry import build_registry
from eostation.jobs.local import run_local
from eostation.jobs.warmup import WARM_UP_PROCESS
out = Path(sys.argv[1])
run_local(WARM_UP_PROCESS, out / "mean.tif", Settings(data_dir=out / "data"),
          log=lambda *_: None, progress=lambda _p: None)
assert "MINE" in build_registry(out / "data")  # a files collection: its loader only
unwanted = ("distributed", "sqlalchemy", "zarr", "healpix_geo", "eostation.data.stac", "odc.stac",
            # writing a GeoTIFF loads no other writer nor its libraries
            "eostation.formats.netcdf", "eostation.formats.png", "eostation.formats.geoparquet",
            "eostation.formats.csvfile", "eostation.formats.zarrfile", "geopandas", "PIL",
            # nor what only some processes need: HTTP (URLs, UDFs by URL), scipy.ndimage
            "httpx", "scipy.ndimage")
print(json.dumps(sorted(m for m in unwanted if m in sys.modules)))
"""


@pytest.mark.slow
def test_run_computes_without_loading_the_sql_store_or_distributed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    profile = {"driver": "GTiff", "width": 4, "height": 4, "count": 1, "dtype": "uint16"}
    transform = rasterio.transform.from_origin(600000, 5700000, 10, 10)
    with rasterio.open(data / "img_20230101.tif", "w", crs="EPSG:32631", **profile,
                       transform=transform) as ds:  # fmt: skip
        ds.write(np.ones((1, 4, 4), np.uint16))
    (data / "collections.toml").write_text(
        '[[collections]]\nid = "MINE"\npaths = ["*.tif"]\nbands = [{ name = "B1" }]\n'
        "date = { regex = '_(?P<date>\\d{8})', format = \"%Y%m%d\" }\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    with rasterio.open(tmp_path / "mean.tif") as ds:
        assert ds.count == 2 and float(ds.read(1).mean()) > 0


CLI_SCRIPT = """
import json, sys
from eostation.cli import app

def modules_after(*args):
    try:
        app(list(args), prog_name="eostation")
    except SystemExit as exc:
        assert not exc.code, exc.code
    return set(sys.modules)

api_stack = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "eostation.api")
helped = modules_after("--help")
ran = modules_after("run", sys.argv[1], "-o", sys.argv[2], "--data-dir", sys.argv[3])
processes = sorted(m.rsplit(".", 1)[-1] for m in ran if m.startswith("eostation.engine.processes."))
print(json.dumps({
    "help": sorted(m for m in helped if m.split(".")[0] in api_stack or m.startswith(api_stack)),
    "run": sorted(m for m in ran if m.split(".")[0] in api_stack or m.startswith(api_stack)),
    "processes": processes,
}))
"""


@pytest.mark.slow
def test_the_run_command_imports_neither_the_api_nor_unused_processes(tmp_path: Path) -> None:
    from eostation.jobs.warmup import WARM_UP_PROCESS

    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(WARM_UP_PROCESS))  # load_collection → reduce(mean) → GTiff
    out = tmp_path / "mean.tif"
    done = subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, str(graph), str(out), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["help"] == [] and seen["run"] == []
    # The modules of the graph's processes, and what they import, not all 50 of them.
    assert {"io", "statistics"} <= set(seen["processes"])
    unused = {"resample", "efast", "ml", "texts", "sar", "zonal", "aggregate_spatial", "udf_deps"}
    assert unused.isdisjoint(seen["processes"]), seen["processes"]
    assert len(seen["processes"]) < 15
    with rasterio.open(out) as ds:
        assert ds.count == 2 and float(ds.read(1).mean()) > 0
