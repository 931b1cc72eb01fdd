"""Take the dashboard screenshots in ``docs/img/dashboard-*.png`` (needs Debian's chromium).

Starts a server on a temporary data dir with the account alice and a small archive
collection, runs three jobs (a
GeoTIFF, an ``aggregate_spatial`` time series and one that fails), opens every page in
headless Chromium and saves a palette PNG of each. Run from the repository root:
``.venv/bin/python scripts/dashboard_screenshots.py``.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import LiveServer  # noqa: E402
from tests.e2e.test_dashboard_browser import _archive  # noqa: E402

OUT = ROOT / "docs" / "img"
FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}


def save(page: Page, name: str) -> None:
    """A screenshot of the page as an adaptive-palette PNG (a few tens of kB)."""
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    path = OUT / f"dashboard-{name}.png"
    image.save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} kB")


def start(page: Page, example: str) -> str:
    """Create and start a job from the jobs page; its id."""
    page.evaluate("location.hash = '#/jobs'")
    page.wait_for_selector("#jobs table")
    before = set(page.eval_on_selector_all("tr[data-job]", "r => r.map(x => x.dataset.job)"))
    page.evaluate("document.querySelector('details.new').open = true")
    page.select_option("#example", example)
    page.click("#create")
    while True:
        now = set(page.eval_on_selector_all("tr[data-job]", "r => r.map(x => x.dataset.job)"))
        if now - before:
            return (now - before).pop()
        time.sleep(0.2)


def main() -> None:
    """Run the server, the jobs and the browser; write the screenshots."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp) / "data", env=FAST)
        server.data_dir.mkdir(parents=True)
        server.users("add", "alice", "--password", "wonderland")
        _archive(server.data_dir)
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1200, "height": 760})
                page.set_default_timeout(180_000)
                page.goto(server.url + "/")
                page.fill("#user", "alice")
                save(page, "login")
                page.fill("#password", "wonderland")
                page.click("form#login button")
                page.wait_for_selector("#jobs table")
                raster = start(page, "Mean red (GTiff)")
                series = start(page, "Time series of two fields (JSON)")
                token = page.evaluate("sessionStorage.getItem('eostation.token')")
                api = httpx.Client(
                    base_url=server.url + "/openeo/1.2",
                    headers={"Authorization": "Bearer " + token},
                )
                graph = {
                    "load": {
                        "process_id": "load_collection",
                        "arguments": {
                            "id": "SENTINEL2_L2A",
                            "spatial_extent": {
                                "west": 11.0,
                                "south": 46.0,
                                "east": 11.01,
                                "north": 46.01,
                            },
                            "temporal_extent": ["2022-06-01", "2022-06-05"],
                            "bands": ["B04"],
                        },
                    },
                    "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
                    "save": {
                        "process_id": "save_result",
                        "arguments": {"data": {"from_node": "ndvi"}, "format": "GTiff"},
                        "result": True,
                    },
                }
                r = api.post(
                    "/jobs", json={"title": "NDVI without B08", "process": {"process_graph": graph}}
                )
                failed = r.headers["OpenEO-Identifier"]
                api.post(f"/jobs/{failed}/results")
                for job in (raster, series):
                    page.wait_for_selector(f'tr[data-job="{job}"].status-finished')
                page.wait_for_selector(f'tr[data-job="{failed}"].status-error')
                save(page, "jobs")
                page.evaluate(f"location.hash = '#/jobs/{failed}'")
                page.wait_for_selector("g.node.failing")
                page.wait_for_selector("#log tr.log-error")
                save(page, "job")
                page.evaluate(f"location.hash = '#/results/{raster}'")
                page.wait_for_selector("#result-map canvas")
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(1500)
                save(page, "results-raster")
                page.evaluate(f"location.hash = '#/results/{series}'")
                page.wait_for_selector("#chart canvas")
                page.wait_for_timeout(1000)
                save(page, "results-chart")
                page.evaluate("location.hash = '#/collections'")
                page.click('a[data-collection="SENTINEL2_L2A"]')
                page.evaluate("window.eostationFit([10.99, 45.99, 11.03, 46.03])")
                page.wait_for_timeout(800)
                page.click("#draw-bbox")
                box = page.locator("#collections-map").bounding_box()
                assert box is not None
                to_px = (
                    "([lon, lat]) => window.eostationMap.getPixelFromCoordinate([lon * 20037508.342789244 / 180,"
                    " Math.log(Math.tan((90 + lat) * Math.PI / 360)) * 6378137])"
                )
                for corner in ([11.0, 46.0], [11.015, 46.012]):
                    x, y = page.evaluate(to_px, corner)
                    page.mouse.click(box["x"] + x, box["y"] + y)
                page.wait_for_selector("#quicklook-img")
                page.wait_for_timeout(800)
                save(page, "collections")
                page.evaluate("location.hash = '#/archive'")
                page.wait_for_selector("#archive-count:has-text('cells')")
                page.evaluate(
                    "window.eostationMap.getView().fit([1224514, 5780000, 1229000, 5784000])"
                )
                page.wait_for_timeout(500)
                page.click("#archive-draw")
                box = page.locator("#archive-map").bounding_box()
                assert box is not None
                for corner in ([11.005, 46.005], [11.02, 46.02]):
                    x, y = page.evaluate(to_px, corner)
                    page.mouse.click(box["x"] + x, box["y"] + y)
                page.wait_for_selector("#archive-png")
                page.evaluate(
                    "window.eostationMap.getView().fit([1110000, 5700000, 1560000, 6100000])"
                )
                page.wait_for_timeout(800)
                save(page, "archive")
                page.evaluate("location.hash = '#/account'")
                page.wait_for_selector("#user-id")
                page.evaluate("document.getElementById('token').value = 'basic//eyJhbGciOi…'")
                save(page, "account")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
