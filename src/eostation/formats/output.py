"""What a writer hands back: the files it wrote and what STAC should say about them."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["OutputFile", "bundle"]


@dataclass(frozen=True)
class OutputFile:
    """One result file (or directory, for Zarr) written by a format writer.

    ``datetime`` is an ISO 8601 instant when the file holds one date of the cube;
    ``bbox`` is ``(west, south, east, north)`` in EPSG:4326; ``epsg``, ``shape``
    (rows, columns) and ``transform`` (the first six affine coefficients) describe
    the native grid; ``bands`` names the bands in file order. ``extra`` holds any
    further STAC asset fields (already namespaced, e.g. ``"eostation:geometries"``).
    """

    path: Path
    media_type: str
    roles: tuple[str, ...] = ("data",)
    title: str | None = None
    datetime: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    epsg: int | None = None
    shape: tuple[int, int] | None = None
    transform: tuple[float, float, float, float, float, float] | None = None
    bands: tuple[str, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file name, which is also the asset key in the job's STAC metadata."""
        return self.path.name

    def stac_asset(self, href: str | None = None) -> dict[str, Any]:
        """This file as a STAC asset object (``href`` defaults to the file name)."""
        asset: dict[str, Any] = {
            "href": href if href is not None else self.name,
            "type": self.media_type,
            "roles": list(self.roles),
            "title": self.title or self.name,
        }
        if self.datetime is not None:
            asset["datetime"] = self.datetime
        if self.bbox is not None:
            asset["bbox"] = list(self.bbox)
        if self.epsg is not None:
            asset["proj:epsg"] = self.epsg
        if self.shape is not None:
            asset["proj:shape"] = list(self.shape)
        if self.transform is not None:
            asset["proj:transform"] = list(self.transform)
        if self.bands is not None:
            asset["bands"] = [{"name": b} for b in self.bands]
            asset["eo:bands"] = [{"name": b} for b in self.bands]
        asset.update(self.extra)
        return asset


def bundle(files: list[OutputFile], directory: Path, name: str = "openEO.zip") -> OutputFile:
    """One file for a synchronous download: ``files[0]`` alone, else a ZIP of them all.

    Directories (Zarr stores) are zipped with their content, paths relative to ``directory``.
    """
    if len(files) == 1 and files[0].path.is_file():
        return files[0]
    target = directory / name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            paths = (
                sorted(p for p in f.path.rglob("*") if p.is_file()) if f.path.is_dir() else [f.path]
            )
            for p in paths:
                zf.write(p, p.relative_to(directory).as_posix())
    return OutputFile(path=target, media_type="application/zip", title="All result files")
