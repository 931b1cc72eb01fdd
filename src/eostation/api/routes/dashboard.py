"""The web dashboard: the page at ``/`` for browsers, its static files under ``/dashboard``.

The root answers JSON to the openEO clients, scripts and the test suite (no ``Accept``,
``*/*``, ``application/json``) and the dashboard's HTML only to a client that names
``text/html`` explicitly and prefers it to JSON, as browsers do when they open a page.
The page holds a bearer token in memory (no cookies), so serving it needs no login.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from eostation.config import Settings

__all__ = [
    "DIST",
    "PREFIX",
    "content_security_policy",
    "index_response",
    "install",
    "wants_html",
]

PREFIX = "/dashboard"
DIST = Path(str(resources.files("eostation") / "web" / "dist"))


def _quality(part: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in part.split(";"))
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return media.lower(), q


def wants_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for HTML rather than JSON.

    Only an explicit ``text/html`` (or ``application/xhtml+xml``) counts, and only when
    JSON is not preferred to it: ``*/*`` alone and ``application/json`` keep the JSON.
    """
    if not accept:
        return False
    ranked = dict(_quality(p) for p in accept.split(",") if p.strip())
    html = max(ranked.get("text/html", 0.0), ranked.get("application/xhtml+xml", 0.0))
    return html > 0 and html >= ranked.get("application/json", 0.0)


def content_security_policy(settings: Settings) -> str:
    """What the page may load: only this server, plus the configured online base map's tiles.

    Browsers then refuse anything else (a CDN, a font, an injected script's beacon), which
    is what "works offline, loads nothing from elsewhere" means for the dashboard.
    """
    images = "'self' data: blob:"
    if settings.dashboard.base_map_url:
        parts = urlsplit(settings.dashboard.base_map_url.replace("{", "").replace("}", ""))
        images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; connect-src 'self'; "
        f"img-src {images}; style-src 'self' 'unsafe-inline'; "  # OpenLayers sets inline styles
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def index_response(settings: Settings) -> FileResponse:
    """The dashboard's HTML page (never cached: it names the hashed scripts of this build)."""
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(settings),
    }
    return FileResponse(DIST / "index.html", headers=headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the built dashboard under ``/dashboard`` (``index.html`` at ``/dashboard/``)."""

    @app.get(PREFIX + "/settings.json", include_in_schema=False)
    def dashboard_settings() -> dict[str, Any]:
        # What the page needs to know before it logs in: the optional online base map.
        return settings.dashboard.model_dump()

    app.mount(PREFIX, StaticFiles(directory=DIST, html=True, check_dir=False), name="dashboard")
