"""The dashboard at ``/``: content negotiation and the files it is built from."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from eostation.api.app import create_app
from eostation.api.routes.dashboard import wants_html
from eostation.config import DashboardSettings, Settings

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/json, text/html;q=0.5", "text/html;q=0"],
)
def test_clients_keep_the_json_at_the_root(client: TestClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    r = client.get("/", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["service"] == "eostation" and body["openeo"].endswith("/openeo/1.2/")
    assert body["dashboard"] == "http://testserver/dashboard/"
    assert "Accept" in r.headers["vary"]


@pytest.mark.parametrize("accept", [BROWSER, "text/html", "application/json;q=0.5, text/html"])
def test_browsers_get_the_dashboard(client: TestClient, accept: str) -> None:
    r = client.get("/", headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Accept" in r.headers["vary"]
    assert "<title>eostation</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "img-src 'self' data: blob:;" in csp  # no online base map unless configured


def test_the_page_loads_only_files_the_server_serves(client: TestClient) -> None:
    page = client.get("/", headers={"Accept": BROWSER}).text
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(ref.endswith(".js") for ref in refs) and any(ref.endswith(".css") for ref in refs)
    for ref in refs:
        if ref.startswith(("data:", "#")):
            continue
        assert ref.startswith("/dashboard/"), ref  # nothing from a CDN
        r = client.get(ref)
        assert r.status_code == 200 and len(r.content) > 1000, ref
    script = next(ref for ref in refs if ref.endswith(".js"))
    assert "javascript" in client.get(script).headers["content-type"]
    world = client.get("/dashboard/world.geojson").json()
    assert world["type"] == "FeatureCollection" and len(world["features"]) > 50
    assert client.get("/dashboard/").text == page


def test_dashboard_settings_offer_no_online_map_unless_configured(client: TestClient) -> None:
    assert client.get("/dashboard/settings.json").json() == {
        "base_map_url": None,
        "base_map_attribution": "",
    }


def test_a_configured_base_map_is_the_one_foreign_image_source(settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "dashboard": DashboardSettings(base_map_url="https://tile.example.org/{z}/{x}/{y}.png")
        }
    )
    with TestClient(create_app(settings)) as client:
        r = client.get("/", headers={"Accept": BROWSER})
        assert (
            "img-src 'self' data: blob: https://tile.example.org;"
            in r.headers["content-security-policy"]
        )
        conf = client.get("/dashboard/settings.json").json()
        assert conf["base_map_url"] == "https://tile.example.org/{z}/{x}/{y}.png"


def test_a_missing_dashboard_file_is_a_404(client: TestClient) -> None:
    assert client.get("/dashboard/assets/nope.js").status_code == 404


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/*", False),
        ("application/json", False),
        ("text/html", True),
        ("application/xhtml+xml", True),
        ("text/html;q=0.4, application/json;q=0.5", False),
        ("text/html;q=0.5, application/json;q=0.5", True),
        ("text/html;q=bogus", False),
        (BROWSER, True),
    ],
)
def test_wants_html(accept: str | None, html: bool) -> None:
    assert wants_html(accept) is html
