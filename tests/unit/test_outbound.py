"""The outbound guard: internal targets refused, allow-list, redirects, one DNS lookup.

Real HTTP servers on loopback addresses (127.0.0.1 and 127.0.0.2 are both loopback on
Linux), the real engine processes that fetch URLs.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from eostation.config import Settings
from eostation.engine.context import EvalContext
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import OutboundRefused
from eostation.outbound import OutboundPolicy
from tests import loopback_http

REGISTRY = default_registry()

INTERNAL = [
    "http://127.0.0.1/",
    "http://127.0.0.2:8000/",
    "http://127.0.0.3/x",
    "http://localhost/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0.0.0.0/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/",  # shared address space (a cloud metadata service)
    "http://[::1]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://224.0.0.1/",
    "file:///etc/passwd",
    "/etc/passwd",
    "ftp://example.org/x",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_and_non_http_targets_are_refused(url: str) -> None:
    with pytest.raises(OutboundRefused) as info:
        OutboundPolicy().check(url)
    assert info.value.status == 400 and url.split("//")[-1][:6] in info.value.message


def test_public_addresses_pass_without_a_lookup() -> None:
    OutboundPolicy().check("https://8.8.8.8/dns")
    OutboundPolicy().check("http://[2606:4700::1111]/")


def test_the_allow_list_takes_cidrs_and_host_names() -> None:
    policy = OutboundPolicy.parse(" 127.0.0.0/8, stac.lan ,fd00::/8")
    policy.check("http://127.0.0.2/")
    policy.check("http://[fd00:ec2::254]/")
    with pytest.raises(OutboundRefused):
        policy.check("http://10.1.2.3/")
    settings = Settings(outbound_allow="10.0.0.0/8", port=8123)
    own = OutboundPolicy.from_settings(settings)
    own.check("http://10.1.2.3/")
    own.check("http://127.0.0.1:8123/openeo/1.2/jobs/j/results")  # the server itself
    with pytest.raises(OutboundRefused):
        own.check("http://127.0.0.1:8124/")


class _Handler(BaseHTTPRequestHandler):
    redirect_to = ""

    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        body = json.dumps({"host": self.headers["Host"], "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def servers() -> Iterator[tuple[int, int]]:
    """One server on 127.0.0.1 and one on 127.0.0.2."""
    started = [ThreadingHTTPServer((host, 0), _Handler) for host in ("127.0.0.1", "127.0.0.2")]
    for server in started:
        loopback_http.start(server)
    yield started[0].server_address[1], started[1].server_address[1]
    for server in started:
        loopback_http.stop(server)


def test_every_redirect_hop_is_checked(servers: tuple[int, int]) -> None:
    first, second = servers
    _Handler.redirect_to = f"http://127.0.0.2:{second}/secret"
    policy = OutboundPolicy.parse("127.0.0.1/32")
    with policy.client() as http:
        assert http.get(f"http://127.0.0.1:{first}/plain").json()["path"] == "/plain"
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.2"):
            http.get(f"http://127.0.0.1:{first}/redirect")


def test_the_checked_address_is_the_one_connected_to(
    servers: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that answers an allowed address first and another one later (DNS rebinding)."""
    first, _ = servers
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    policy = OutboundPolicy.parse("127.0.0.1/32")
    with policy.client() as http:
        body = http.get(f"http://rebind.test:{first}/x").json()
    assert body == {"host": f"rebind.test:{first}", "path": "/x"}
    assert lookups == ["rebind.test"]


def _run(node: dict[str, Any], limits: EngineLimits) -> Any:
    return evaluate(
        {"process_graph": {"n": {**node, "result": True}}}, EvalContext(REGISTRY, limits)
    )


def test_load_url_and_udf_urls_go_through_the_guard(
    servers: tuple[int, int], tmp_path: Path
) -> None:
    first, _ = servers
    url = f"http://127.0.0.1:{first}/data.geojson"
    load = {"process_id": "load_url", "arguments": {"url": url, "format": "GeoJSON"}}
    with pytest.raises(OutboundRefused, match="EOSTATION_OUTBOUND_ALLOW"):
        _run(load, EngineLimits())
    udf = {
        "process_id": "run_udf",
        "arguments": {"data": [1], "udf": f"http://127.0.0.1:{first}/udf.py", "runtime": "Python"},
    }
    with pytest.raises(OutboundRefused):
        _run(udf, EngineLimits(udf_enabled=True))


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd", "http://127.0.0.2/c.json"])
def test_load_stac_reads_no_local_files_or_internal_hosts(url: str) -> None:
    node = {"process_id": "load_stac", "arguments": {"url": url}}
    with pytest.raises(OutboundRefused) as info:
        _run(node, EngineLimits())
    assert info.value.status == 400


def test_a_remote_item_with_a_file_asset_is_refused(
    servers: tuple[int, int], tmp_path: Path
) -> None:
    """A remote STAC item whose asset points at a file on the server (another user's result)."""
    secret = tmp_path / "other-user-result.tif"
    secret.write_bytes(b"II*\x00")
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "x",
        "geometry": {"type": "Point", "coordinates": [11, 46]},
        "bbox": [11, 46, 11, 46],
        "properties": {"datetime": "2023-06-01T00:00:00Z"},
        "links": [],
        "assets": {"data": {"href": f"file://{secret}", "type": "image/tiff"}},
    }

    class ItemHandler(_Handler):
        def do_GET(self) -> None:
            body = json.dumps(item).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with loopback_http.serving(ThreadingHTTPServer(("127.0.0.1", 0), ItemHandler)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/item.json"
        limits = replace(EngineLimits(), outbound=OutboundPolicy.parse("127.0.0.0/8"))
        with pytest.raises(OutboundRefused, match="only http"):
            _run({"process_id": "load_stac", "arguments": {"url": url}}, limits)
