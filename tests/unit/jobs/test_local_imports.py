"""``eostation run`` loads what it needs: no SQL store, no dask.distributed, no archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio

SCRIPT = """
import json, sys
from pathlib import Path
from eostation.cli import app  # every command registers: the archive's modules must stay out
from eostation.config import Settings
from eostation.jobs.local import run_local
from eostation.jobs.warmup import WARM_UP_PROCESS
out = Path(sys.argv[1])
run_local(WARM_UP_PROCESS, out / "mean.tif", Settings(data_dir=out / "data"),
          log=lambda *_: None, progress=lambda _p: None)
print(json.dumps(sorted(m for m in ("distributed", "sqlalchemy", "zarr", "healpix_geo")
                        if m in sys.modules)))
"""


@pytest.mark.slow
def test_run_computes_without_loading_the_sql_store_or_distributed(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    with rasterio.open(tmp_path / "mean.tif") as ds:
        assert ds.count == 2 and float(ds.read(1).mean()) > 0
