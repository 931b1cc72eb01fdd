"""Demo-world assets of the STAC API: COGs rendered on demand, with ``Range`` and ``HEAD``.

``GET /stac/v1/assets/{collection}/{item}/{key}.tif`` — a ranged read renders only the
tiles it touches (see :mod:`eostation.catalog.cog`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from eostation.api.routes.stac import STAC_PREFIX, catalog_of
from eostation.catalog.assets import AssetRenderer
from eostation.errors import RequestInvalid

__all__ = ["router"]

router = APIRouter(prefix=STAC_PREFIX, tags=["STAC API"])
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_TIFF = "image/tiff; application=geotiff; profile=cloud-optimized"
#: Bytes per chunk of a full (unranged) download.
_CHUNK = 8 * 1024 * 1024


def _renderer(request: Request) -> AssetRenderer:
    renderer: AssetRenderer = request.app.state.asset_renderer
    return renderer


def _parse_range(header: str, size: int) -> tuple[int, int]:
    """``[start, stop)`` of a single ``bytes=`` range; RequestInvalid otherwise."""
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        raise RequestInvalid(reason=f"Range: '{header}' is not a single 'bytes=start-end' range.")
    if not m.group(1):
        start, stop = max(0, size - int(m.group(2))), size
    else:
        start = int(m.group(1))
        stop = min(size, int(m.group(2)) + 1) if m.group(2) else size
    if start >= size or stop <= start:
        raise RequestInvalid(reason=f"Range: '{header}' is outside the file ({size} bytes).")
    return start, stop


@router.api_route(
    "/assets/{collection_id}/{item_id}/{key}.tif",
    methods=["GET", "HEAD"],
    summary="A demo asset as a Cloud-Optimized GeoTIFF",
)
async def asset(collection_id: str, item_id: str, key: str, request: Request) -> Response:
    """The COG of one band of a demo item; honours single ``Range`` requests."""
    catalog = catalog_of(request)
    renderer = _renderer(request)
    demo, stub = await run_in_threadpool(catalog.demo_stub, collection_id, item_id)
    layout, _, _ = await run_in_threadpool(renderer.layout, demo, stub, key)
    size = layout.size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=86400"}
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(size)}, media_type=_TIFF)
    header = request.headers.get("range")
    if header:
        start, stop = _parse_range(header, size)
        data = await run_in_threadpool(renderer.read, demo, stub, key, start, stop)
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        return Response(data, status_code=206, headers=headers, media_type=_TIFF)

    def chunks() -> Iterator[bytes]:
        for start in range(0, size, _CHUNK):
            yield renderer.read(demo, stub, key, start, min(size, start + _CHUNK))

    headers["Content-Length"] = str(size)
    return StreamingResponse(chunks(), headers=headers, media_type=_TIFF)
