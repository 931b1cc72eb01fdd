"""GDAL through the guarding proxy: a real GeoTIFF served on loopback, read by rasterio."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.transform import from_origin

from eostation.outbound_proxy import start_proxy

_SERVER = """
import functools, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

class Files(SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/hop/"):  # the same file, on 127.0.0.2
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{sys.argv[3]}/{self.path[5:]}")
            self.end_headers()
            return
        super().do_GET()

server = ThreadingHTTPServer((sys.argv[1], 0), functools.partial(Files, directory=sys.argv[2]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _serve(host: str, folder: Path, other_port: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    """A file server in its own process: GDAL may hold the GIL while it fetches."""
    command = [sys.executable, "-c", _SERVER, host, str(folder), str(other_port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, int, np.ndarray]]:
    values = np.arange(64, dtype=np.uint16).reshape(8, 8)
    profile = {"driver": "GTiff", "width": 8, "height": 8, "count": 1, "dtype": "uint16"}
    for name in ("a.tif", "b.tif", "c.tif", "d.tif"):
        with rasterio.open(
            tmp_path / name, "w", **profile, transform=from_origin(0, 8, 1, 1)
        ) as ds:
            ds.write(values, 1)
    second, second_port = _serve("127.0.0.2", tmp_path)
    first, first_port = _serve("127.0.0.1", tmp_path, second_port)
    yield first_port, second_port, values
    for proc in (first, second):
        proc.kill()
        proc.wait()


def _read(url: str, proxy: str) -> np.ndarray:
    with (
        rasterio.Env(GDAL_HTTP_PROXY=proxy, GDAL_HTTPS_PROXY=proxy, GDAL_HTTP_MAX_RETRY=0),
        rasterio.open(url) as ds,
    ):
        return ds.read(1)


def test_gdal_reads_allowed_hosts_and_is_refused_internal_ones_and_redirects(
    served: tuple[int, int, np.ndarray],
) -> None:
    first, second, values = served
    process, proxy = start_proxy("127.0.0.1/32", [])
    try:
        np.testing.assert_array_equal(_read(f"http://127.0.0.1:{first}/a.tif", proxy), values)
        with pytest.raises(RasterioIOError):
            _read(f"http://127.0.0.2:{second}/b.tif", proxy)
        with pytest.raises(RasterioIOError):
            _read(f"http://127.0.0.1:{first}/hop/c.tif", proxy)
    finally:
        process.kill()
        process.wait()
    process, strict = start_proxy("", [])
    try:
        with pytest.raises(RasterioIOError):
            _read(f"http://127.0.0.1:{first}/d.tif", strict)
    finally:
        process.kill()
        process.wait()
