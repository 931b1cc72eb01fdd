"""Images for the dashboard: result map tiles and collection quicklooks (authenticated).

``/tiles/{job_id}/{asset}/{z}/{x}/{y}.png`` draws a user's own raster result;
``/quicklooks/{collection_id}.png`` renders a collection for a box and a date.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from eostation.api.deps import CurrentUser, ServicesDep
from eostation.api.heavy import ClientGone
from eostation.errors import RequestInvalid
from eostation.tiles.quicklook import Quicklook, QuicklookService
from eostation.tiles.render import Style
from eostation.tiles.service import TileService

__all__ = ["router"]

router = APIRouter()


def _numbers(value: str | None, name: str) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    try:
        return tuple(float(v) for v in value.split(","))
    except ValueError:
        raise RequestInvalid(reason=f"'{name}' must be numbers separated by commas") from None


def _bands(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise RequestInvalid(
            reason="'bands' must be band numbers (from 1) separated by commas"
        ) from None


@router.get(
    "/tiles/{job_id}/{asset}/{z}/{x}/{y}.png",
    summary="A Web Mercator map tile of a raster job result",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def result_tile(
    job_id: str,
    asset: str,
    z: int,
    x: int,
    y: int,
    user: CurrentUser,
    services: ServicesDep,
    bands: Annotated[str, Query(description="1 band (colour ramp) or 3 (RGB), from 1")] = "1",
    colormap: Annotated[str, Query(description="ramp for one band")] = "viridis",
    stretch: Annotated[
        str, Query(description="'minmax' or 'stddev' (from band statistics)")
    ] = "minmax",
    min: Annotated[str | None, Query(description="value drawn darkest (per band: commas)")] = None,
    max: Annotated[
        str | None, Query(description="value drawn brightest (per band: commas)")
    ] = None,
) -> Response:
    """The tile ``z/x/y`` (XYZ scheme) of result file ``asset``, reprojected to EPSG:3857."""
    style = Style(
        bands=_bands(bands),
        colormap=colormap,
        stretch=stretch,
        low=_numbers(min, "min"),
        high=_numbers(max, "max"),
    )
    png = await run_in_threadpool(
        TileService(services.jobs).result_tile, user.user_id, job_id, asset, z, x, y, style
    )
    # Private: the tile shows one user's result; it changes only when the job is restarted.
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.get(
    "/quicklooks/{collection_id}.png",
    summary="A quicklook of a collection for a box and a date",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def quicklook(
    collection_id: str,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    bbox: Annotated[str, Query(description="west,south,east,north in degrees")],
    date: Annotated[str, Query(description="first day (YYYY-MM-DD); about 10 days are read")],
    bands: Annotated[str, Query(description="one band (grey) or three (RGB)")],
) -> Response:
    """What the engine reads for the box: the first valid observation per pixel, as PNG."""
    look = Quicklook.parse(collection_id, bbox, date, bands)
    service = QuicklookService(services.sync, services.settings.data_dir / "quicklooks")
    rid: str = request.state.request_id
    try:
        path = await services.heavy.run(
            request,
            lambda gone: service.render(look, user_id=user.user_id, request_id=rid, cancelled=gone),
        )
    except ClientGone:
        return Response(status_code=499)  # nobody reads it: the client has gone
    return FileResponse(
        path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.get("/archive/coverage", summary="What the archive-backed collections hold")
def archive_coverage(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """Per archive collection: dates, and per band and date the shard cells holding data."""
    from eostation.tiles.coverage import archive_coverage as coverage

    return coverage(services.collections)
