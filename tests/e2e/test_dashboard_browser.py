"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright).

A live server with two accounts; alice logs in, starts a job from the jobs page, watches
it finish, sees its result on the map, a failed job's failing node, a quicklook of a box
she draws and the chart of an ``aggregate_spatial`` result; bob sees none of it. Every
request the browser makes goes to the server (no CDN, no online tiles).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer

from tests.conftest import LiveServer
from tests.graphs import load_s2, save

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FAST = {"EOSTATION_JOBS__HEARTBEAT_SECONDS": "0.2", "EOSTATION_JOBS__POLL_SECONDS": "0.05"}
HALF = math.pi * 6378137.0
API = "/openeo/1.2"
SMALL = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.01}


def _chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests")
    return CHROMIUM


def _archive(data_dir: Path) -> None:
    """An archive collection: bands a, b near Trento on 1 June, near Salzburg on 6 June."""
    from eostation.archive import Archive
    from tests.unit.archive.conftest import make_cube

    archive = Archive(data_dir / "arch.zarr")
    for bbox, day, value in [
        ((11.0, 46.0, 11.04, 46.03), "2023-06-01", 5.0),
        ((13.0, 47.7, 13.04, 47.73), "2023-06-06", 9.0),
    ]:
        archive.ingest(make_cube(bbox, 0.0002, [day], lambda x, y, k, v=value: v + 0 * x * y))
    (data_dir / "collections.toml").write_text(
        '[[collections]]\ntype = "archive"\nid = "ARCH"\npath = "arch.zarr"\nresolution = 0.0005\n'
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _chromium()
    server = LiveServer(tmp_path_factory.mktemp("dash") / "data", env=FAST)
    server.data_dir.mkdir(parents=True)
    server.users("add", "alice", "--password", "wonderland")
    server.users("add", "bob", "--password", "builder")
    _archive(server.data_dir)
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Root in CI containers: Chromium's sandbox needs user namespaces it does not get.
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


class Session:
    """One logged-in page, with every URL the browser asked for."""

    def __init__(self, browser: Any, server: LiveServer, user: str, password: str) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.console_errors: list[str] = []
        self.page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.goto(server.url + "/")
        self.page.fill("#user", user)
        self.page.fill("#password", password)
        self.page.click("form#login button")
        self.page.wait_for_selector("#jobs table")
        token = self.page.evaluate("sessionStorage.getItem('eostation.token')")
        self.api = httpx.Client(
            base_url=server.url + API, headers={"Authorization": "Bearer " + token}, timeout=120
        )

    def go(self, hash_: str) -> None:
        self.page.evaluate(f"location.hash = {hash_!r}")

    def foreign_requests(self) -> list[str]:
        own = (self.server.url + "/", "data:", "blob:")
        return [u for u in self.requests if not u.startswith(own)]

    def close(self) -> None:
        self.api.close()
        self.context.close()


@pytest.fixture(scope="module")
def alice(browser: Any, server: LiveServer) -> Iterator[Session]:
    s = Session(browser, server, "alice", "wonderland")
    yield s
    s.close()


def _wait_finished(session: Session, job_id: str) -> None:
    row = f'tr[data-job="{job_id}"]'
    session.page.wait_for_selector(f"{row}.status-finished", timeout=180_000)
    assert session.page.get_attribute(f"{row} [data-progress]", "data-progress") == "100"


def _start_from_jobs_page(session: Session, example: str) -> str:
    page = session.page
    session.go("#/jobs")
    page.wait_for_selector("#jobs table")
    before = set(page.eval_on_selector_all("tr[data-job]", "rows => rows.map(r => r.dataset.job)"))
    page.click("details.new summary")
    page.select_option("#example", example)
    page.click("#create")
    page.wait_for_selector("details.new .msg:has-text('started')")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = set(page.eval_on_selector_all("tr[data-job]", "rows => rows.map(r => r.dataset.job)"))
        if now - before:
            [job_id] = now - before
            return job_id
        time.sleep(0.2)
    raise AssertionError("the new job did not appear in the list")


def test_start_a_job_and_see_its_result_tile_in_the_expected_colour(
    alice: Session, tmp_path: Path
) -> None:
    job_id = _start_from_jobs_page(alice, "Mean red (GTiff)")
    _wait_finished(alice, job_id)
    # The value of one pixel, read from the result file itself.
    assets = alice.api.get(f"/jobs/{job_id}/results").json()["assets"]
    [(name, asset)] = assets.items()
    path = tmp_path / name
    path.write_bytes(httpx.get(asset["href"]).content)
    with rasterio.open(path) as ds:
        row, col = ds.height // 2, ds.width // 3
        value = float(ds.read(1)[row, col])
        lo, hi = (float(ds.tags(1)[f"STATISTICS_{k}"]) for k in ("MINIMUM", "MAXIMUM"))
        x, y = Transformer.from_crs(ds.crs, 3857, always_xy=True).transform(*ds.xy(row, col))
    expected = np.asarray(matplotlib.colormaps["viridis"]((value - lo) / (hi - lo))[:3]) * 255

    page = alice.page
    page.click(f'tr[data-job="{job_id}"] a[href="#/results/{job_id}"]')
    page.wait_for_selector("#result-map canvas")
    page.wait_for_function(
        "() => { const l = window.eostationMap.getAllLayers().find(l => l.get('name') === 'result');"
        " return l && l.getSource() && l.getSource().getState() === 'ready'"
        " && !window.eostationMap.getView().getAnimating(); }"
    )
    px, py = page.evaluate(f"window.eostationMap.getPixelFromCoordinate([{x}, {y}])")
    box = page.locator("#result-map").bounding_box()
    # Tiles arrive one by one: look again until this one is drawn (or give up after 30 s).
    deadline = time.monotonic() + 30
    while True:
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
        got = shot[round(box["y"] + py), round(box["x"] + px)].astype(float)
        if np.abs(got - expected).max() <= 6 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert np.abs(got - expected).max() <= 6, (got, expected)


def test_a_failed_job_shows_its_failing_node(alice: Session) -> None:
    graph = {
        "load": load_s2(SMALL, ["2022-06-01", "2022-06-05"]),
        "oops": {
            "process_id": "no_such_process",
            "arguments": {"data": {"from_node": "load"}},
            "result": True,
        },
    }
    r = alice.api.post("/jobs", json={"title": "broken", "process": {"process_graph": graph}})
    job_id = r.headers["OpenEO-Identifier"]
    alice.api.post(f"/jobs/{job_id}/results")
    alice.go(f"#/jobs/{job_id}")
    page = alice.page
    page.wait_for_selector('g.node.failing[data-node="oops"]', timeout=120_000)
    assert page.eval_on_selector_all("g.node.failing", "n => n.map(x => x.dataset.node)") == [
        "oops"
    ]
    assert page.locator('g.node[data-node="load"]').count() == 1
    page.wait_for_selector("#log tr.log-error")  # the log refreshes on its own
    page.select_option("#log-level", "error")
    page.wait_for_function("() => document.querySelectorAll('#log tr.log-info').length === 0")
    assert "no_such_process" in page.inner_text("#log")


def test_draw_a_box_on_the_collections_map_and_get_a_quicklook(alice: Session) -> None:
    page = alice.page
    alice.go("#/collections")
    page.click('a[data-collection="SENTINEL2_L2A"]')
    page.wait_for_selector("#draw-bbox")
    page.evaluate("window.eostationFit([10.99, 45.99, 11.03, 46.03])")
    page.wait_for_timeout(500)
    to_px = (
        "([lon, lat]) => window.eostationMap.getPixelFromCoordinate("
        "[lon * 20037508.342789244 / 180, Math.log(Math.tan((90 + lat) * Math.PI / 360)) * 6378137])"
    )
    page.click("#draw-bbox")
    page.locator("#collections-map").scroll_into_view_if_needed()
    box = page.locator("#collections-map").bounding_box()
    for corner in ([11.0, 46.0], [11.01, 46.01]):
        x, y = page.evaluate(to_px, corner)
        page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#quicklook img, #quicklook .error", timeout=120_000)
    assert page.locator("#quicklook .error").count() == 0, page.inner_text("#quicklook")
    img = page.wait_for_selector("#quicklook-img")
    width = page.evaluate("el => el.naturalWidth", img)
    assert 50 < width < 200  # 0.01° at 10 m


def test_aggregate_spatial_result_chart_shows_the_values(alice: Session) -> None:
    job_id = _start_from_jobs_page(alice, "Time series of two fields (JSON)")
    _wait_finished(alice, job_id)
    [asset] = alice.api.get(f"/jobs/{job_id}/results").json()["assets"].values()
    series = httpx.get(asset["href"]).json()
    first = sorted(series)[0]
    expected = series[first][1][0]  # second polygon ("south"), its one band
    page = alice.page
    alice.go(f"#/results/{job_id}")
    page.click('a[data-polygon="1"]')
    page.wait_for_selector("#chart h3:has-text('south')")
    cell = page.inner_text(f'#chart tr[data-date="{first}"] td.value')
    assert float(cell) == pytest.approx(expected)
    assert page.locator("#chart canvas").count() == 1
    # The polygons are on the map, coloured by value.
    n = page.evaluate(
        "window.eostationMap.getAllLayers().find(l => l.get('name') === 'polygons')"
        ".getSource().getFeatures().length"
    )
    assert n == 2


def test_per_date_results_have_a_date_slider_that_switches_the_tiles(alice: Session) -> None:
    graph = {"load": load_s2(SMALL, ["2022-06-01", "2022-06-11"]), "save": save("load", "GTiff")}
    r = alice.api.post("/jobs", json={"title": "per date", "process": {"process_graph": graph}})
    job_id = r.headers["OpenEO-Identifier"]
    alice.api.post(f"/jobs/{job_id}/results")
    alice.go("#/jobs")
    _wait_finished(alice, job_id)
    assets = alice.api.get(f"/jobs/{job_id}/results").json()["assets"]
    dated = sorted((a["datetime"], name) for name, a in assets.items())
    assert len(dated) >= 2
    page = alice.page
    alice.go(f"#/results/{job_id}")
    page.wait_for_selector("#date-slider")
    assert page.get_attribute("#date-slider", "max") == str(len(dated) - 1)
    assert page.inner_text("#date-label") == dated[0][0]
    page.wait_for_function(
        f"() => performance.getEntriesByType('resource').some(e => e.name.includes('/{dated[0][1]}/'))"
    )
    page.eval_on_selector(
        "#date-slider", "s => { s.value = 1; s.dispatchEvent(new Event('input')); }"
    )
    assert page.inner_text("#date-label") == dated[1][0]
    page.wait_for_function(
        f"() => performance.getEntriesByType('resource').some(e => e.name.includes('/{dated[1][1]}/'))"
    )


def test_archive_coverage_per_date_and_a_query_to_png_and_netcdf(alice: Session) -> None:
    import xarray as xr

    page = alice.page
    alice.go("#/archive")
    page.wait_for_selector("#archive-count:has-text('cells'), p.error, #no-archive")
    assert page.locator("p.error, #no-archive").count() == 0, page.inner_text("main")
    archives = alice.api.get(alice.server.url + "/archive/coverage").json()
    [arch] = [a for a in archives if a["id"] == "ARCH"]
    page.select_option("#archive-id", "ARCH")
    first, second = arch["dates"]
    cells = len(arch["shards"]["features"])
    held_first = len(arch["coverage"]["a"][first])
    assert page.inner_text("#archive-count") == f"{held_first} of {cells} cells hold data", [
        a["id"] for a in archives
    ]
    held_cells = (
        "() => { const l = window.eostationMap.getAllLayers().find(l => l.get('name') === 'coverage');"
        " return l.getSource().getFeatures().filter(f => l.getStyle()(f).getFill().getColor()"
        " !== 'rgba(0,0,0,0)').map(f => f.getGeometry().getExtent()); }"
    )
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    # On 1 June only cells around Trento hold data; on 6 June only cells around Salzburg.
    for extent in page.evaluate(held_cells):
        west, south, east, north = to_lonlat.transform_bounds(*extent)
        assert west < 11.04 and east > 11.0 and south < 46.03 and north > 46.0
    page.evaluate("window.eostationMap.getView().fit([1224514, 5780000, 1229000, 5784000])")
    page.wait_for_timeout(300)
    page.click("#archive-draw")
    box = page.locator("#archive-map").bounding_box()
    to_px = (
        "([lon, lat]) => window.eostationMap.getPixelFromCoordinate("
        "[lon * 20037508.342789244 / 180, Math.log(Math.tan((90 + lat) * Math.PI / 360)) * 6378137])"
    )
    for corner in ([11.005, 46.005], [11.02, 46.02]):
        x, y = page.evaluate(to_px, corner)
        page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#archive-query img, #archive-query .error", timeout=120_000)
    assert page.locator("#archive-query .error").count() == 0, page.inner_text("#archive-query")
    with page.expect_download() as download:
        page.click("#archive-nc-link")
    path = download.value.path()
    with xr.open_dataset(path) as ds:
        values = ds["a"].values
    assert np.nanmin(values) == pytest.approx(5.0) and np.nanmax(values) == pytest.approx(5.0)
    page.select_option("#archive-date", index=1)
    held_second = len(arch["coverage"]["a"][second])
    assert page.inner_text("#archive-count") == f"{held_second} of {cells} cells hold data"
    for extent in page.evaluate(held_cells):
        west, south, east, north = to_lonlat.transform_bounds(*extent)
        assert west < 13.04 and east > 13.0 and south < 47.73 and north > 47.7


def test_a_second_user_sees_none_of_the_first_users_jobs(
    alice: Session, browser: Any, server: LiveServer
) -> None:
    alice_jobs = [j["id"] for j in alice.api.get("/jobs").json()["jobs"]]
    assert alice_jobs
    bob = Session(browser, server, "bob", "builder")
    try:
        page = bob.page
        assert page.locator("tr[data-job]").count() == 0
        bob.go("#/results")
        page.wait_for_selector("text=No finished jobs yet.")
        bob.go(f"#/jobs/{alice_jobs[0]}")
        page.wait_for_selector("p.error")
        assert "does not exist" in page.inner_text("p.error")
        bob.go("#/account")
        page.wait_for_selector("#user-id")
        assert page.inner_text("#user-id") == "bob"
        assert bob.foreign_requests() == []
    finally:
        bob.close()


def test_no_page_loads_anything_from_outside_the_server(alice: Session) -> None:
    alice.go("#/account")
    alice.page.wait_for_selector("#user-id")
    assert alice.page.inner_text("#user-id") == "alice"
    assert alice.requests, "the request log is empty"
    assert alice.foreign_requests() == []
    # The page's Content-Security-Policy blocked nothing it needs, and no script failed.
    blocked = [e for e in alice.console_errors if "Content Security Policy" in e]
    assert blocked == [] and not [e for e in alice.console_errors if "Error" in e], (
        alice.console_errors
    )
