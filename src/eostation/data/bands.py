"""Bands as STAC describes them, and band selection by name or common name (every source)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from eostation.errors import ProcessParameterInvalid

__all__ = ["Band", "select_bands"]


@dataclass(frozen=True)
class Band:
    """One band of a collection, as STAC ``eo:bands``/``raster:bands`` describe it.

    ``wavelength`` is the centre wavelength in µm (None for non-optical bands),
    ``gsd`` the native resolution in metres; ``scale``/``offset`` turn stored values
    into physical ones (``physical = stored * scale + offset``). ``aliases`` are other
    names a request may use (e.g. the variable names inside the product files); the cube
    then labels the band with the name the request used.
    """

    name: str
    description: str
    common_name: str | None = None
    wavelength: float | None = None
    fwhm: float | None = None
    gsd: float | None = None
    unit: str | None = None
    scale: float | None = None
    offset: float | None = None
    data_type: str = "float32"
    aliases: tuple[str, ...] = ()

    def eo(self) -> dict[str, Any]:
        """The ``eo:bands`` entry."""
        entry: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.common_name:
            entry["common_name"] = self.common_name
        if self.wavelength is not None:
            entry["center_wavelength"] = self.wavelength
        if self.fwhm is not None:
            entry["full_width_half_max"] = self.fwhm
        return entry

    def raster(self) -> dict[str, Any]:
        """The ``raster:bands`` entry (``nodata`` is NaN in the float32 cubes)."""
        entry: dict[str, Any] = {"name": self.name, "nodata": "nan", "data_type": self.data_type}
        for key in ("unit", "scale", "offset"):
            if getattr(self, key) is not None:
                entry[key] = getattr(self, key)
        if self.gsd is not None:
            entry["spatial_resolution"] = self.gsd
        return entry


def select_bands(available: Sequence[Band], requested: Sequence[str] | None) -> list[Band]:
    """Resolve requested band names, aliases or (unambiguous) common names, in request order.

    A band requested by an alias comes back under that alias, so that the cube's band
    labels are the names the request used (as CDSE answers ``SDR_Oa08`` for SYN).
    """
    if requested is None:
        return list(available)
    if not requested:
        raise ProcessParameterInvalid(
            process="load_collection", parameter="bands", reason="the band list is empty."
        )
    by_name = {b.name: b for b in available}
    by_name_ci = {b.name.lower(): b for b in available}
    by_alias = {a.lower(): b for b in available for a in b.aliases}
    chosen: list[Band] = []
    for wanted in requested:
        band = by_name.get(wanted) or by_name_ci.get(wanted.lower())
        if band is None:
            band = by_alias.get(wanted.lower())
            band = replace(band, name=wanted) if band is not None else None
        if band is None:
            matches = [b for b in available if b.common_name == wanted]
            if len(matches) > 1:
                names = ", ".join(b.name for b in matches)
                raise ProcessParameterInvalid(
                    process="load_collection",
                    parameter="bands",
                    reason=f"common name '{wanted}' is ambiguous ({names}); use a band name.",
                )
            band = matches[0] if matches else None
        if band is None:
            names = ", ".join(b.name for b in available)
            raise ProcessParameterInvalid(
                process="load_collection",
                parameter="bands",
                reason=f"band '{wanted}' does not exist; available: {names}.",
            )
        chosen.append(band)
    return chosen
