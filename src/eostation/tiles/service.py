"""The tile operations the API calls: which file a tile comes from, and who may see it."""

from __future__ import annotations

from eostation.errors import FileNotFound, RequestInvalid
from eostation.jobs.service import JobService
from eostation.tiles.render import Style, render_tile

__all__ = ["RASTER_TYPES", "TileService"]

#: Media types of result assets that tiles can be drawn from (GeoTIFF and COG).
RASTER_TYPES = ("image/tiff",)


class TileService:
    """Tiles of a user's own finished job results (another user's job does not exist)."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    def result_tile(
        self, user_id: str, job_id: str, asset: str, z: int, x: int, y: int, style: Style
    ) -> bytes:
        """PNG tile ``z/x/y`` of result file ``asset`` of ``job_id``.

        Raises ``JobNotFound`` for a job of another user, ``JobNotFinished`` before the job
        finished, ``FileNotFound`` for a name that is not one of its files and
        ``RequestInvalid`` for a file that is not a GeoTIFF.
        """
        job = self.jobs.results(user_id, job_id)
        record = (job.results or {}).get(asset)
        path = self.jobs.layout.file(job, asset) if record else None
        if record is None or path is None:
            raise FileNotFound(file=f"{job_id}/{asset}")
        if not str(record.get("type", "")).startswith(RASTER_TYPES):
            raise RequestInvalid(
                reason=f"'{asset}' is {record.get('type')}; map tiles need a GeoTIFF result"
            )
        return render_tile(path, z, x, y, style)
