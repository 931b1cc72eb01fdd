"""Sentinel-3: OLCI Level-1B radiances, SLSTR reflectances and brightness temperatures, SYN.

- ``SENTINEL3_OLCI_L1B``: B01–B21, top-of-atmosphere radiance (mW m⁻² sr⁻¹ nm⁻¹), 300 m.
- ``SENTINEL3_SLSTR``: S1–S6 TOA reflectance (0–1) at 500 m; S7–S9, F1, F2 brightness
  temperature (K) at 1 km.
- ``SENTINEL3_SYN_L2_SYN``: ``Syn_OaNN_reflectance`` surface reflectance (0–1) for the
  OLCI bands that the real SYN product carries (no Oa13–Oa15, Oa19, Oa20: gaseous
  absorption) and ``CLOUD_flags`` (bit 0 cloud, bit 1 ambiguous cloud, bit 2 cloud
  margin), 300 m. The reflectance bands can also be requested as ``SDR_OaNN`` (their
  variable names in the product files, as CDSE accepts them); the cube then labels them
  so.

Grid: EPSG:4326 with 1/360° (~300 m), 1/240° (~500 m) or 1/120° (~1 km) steps; one
grid per load, the finest of the requested bands (coarser bands repeat their native
pixel). Acquisitions follow the real orbits (:mod:`.orbits`): Sentinel-3A from
2016-04-20 and 3B from 2018-11-17, 140° apart, 385 relative orbits in 27 days,
descending at 10:00 local solar time, the OLCI swath 1,270 km wide tilted west: daily
at mid latitudes with both satellites, a gap every few days near the equator.
Labelled by day at 00:00 UTC.

Load option ``reprojection_type="binning"`` (CDSE ``featureflags``) with
``super_sampling`` *s*: each output pixel is the mean of *s*×*s* sub-pixels; with
``flag_band``/``flag_bitmask`` sub-pixels whose flag value has any masked bit set are
left out (NaN when all are). Without it, a pixel is sampled at its centre.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from eostation.errors import ProcessParameterInvalid

from ..bands import Band
from . import optical, world
from .grid import Grid, Tile
from .source import Acquisition, DemoSource, orbit_acquisitions
from .spectra import rayleigh_reflectance, solar_irradiance

__all__ = ["OlciL1B", "SlstrL1B", "SynL2"]

Fields = NDArray[np.float32]
_Float = TypeVar("_Float", bound=np.floating[Any])
#: Native pixel size in metres -> grid step in degrees.
STEP_DEG = {300.0: 1 / 360, 500.0: 1 / 240, 1000.0: 1 / 120}
_OLCI = (
    (400.0, 15.0), (412.5, 10.0), (442.5, 10.0), (490.0, 10.0), (510.0, 10.0), (560.0, 10.0),
    (620.0, 10.0), (665.0, 10.0), (673.75, 7.5), (681.25, 7.5), (708.75, 10.0), (753.75, 7.5),
    (761.25, 2.5), (764.375, 3.75), (767.5, 2.5), (778.75, 15.0), (865.0, 20.0), (885.0, 10.0),
    (900.0, 10.0), (940.0, 20.0), (1020.0, 40.0),
)  # fmt: skip
#: Gaseous transmittance of the absorption bands (O2 A band, water vapour).
_ABSORPTION = {13: 0.3, 14: 0.6, 15: 0.8, 19: 0.75, 20: 0.45}
_SYN_BANDS = [i for i in range(1, 22) if i not in _ABSORPTION]


def _common(nm: float) -> str | None:
    for lo, hi, name in (
        (400, 450, "coastal"),
        (450, 515, "blue"),
        (515, 600, "green"),
        (600, 690, "red"),
        (690, 750, "rededge"),
        (750, 900, "nir"),
        (900, 960, "nir09"),
    ):
        if lo <= nm < hi:
            return name
    return None


def solar_cos_zenith(lat: NDArray[_Float], day: float, local_hour: float = 10.0) -> NDArray[_Float]:
    """Cosine of the solar zenith angle at a local solar time (≥ 0.05), in the precision of ``lat``."""
    decl = math.radians(23.44) * math.sin(2 * math.pi * (world.day_of_year(day) - 81.0) / 365.2425)
    hour = math.radians(15.0 * (local_hour - 12.0))
    phi = np.radians(lat)
    cos_sza = np.sin(phi) * math.sin(decl) + np.cos(phi) * math.cos(decl) * math.cos(hour)
    clipped: NDArray[_Float] = np.maximum(cos_sza, 0.05)
    return clipped


def _finest_step(bands: Sequence[Band]) -> float:
    """Grid step in degrees of the finest native pixel among ``bands``."""
    return STEP_DEG[min(float(b.gsd or 300.0) for b in bands)]


def _summaries(instrument: str) -> dict[str, Any]:
    return {
        "platform": ["sentinel-3a", "sentinel-3b"],
        "constellation": ["sentinel-3"],
        "instruments": [instrument],
    }


class _Sentinel3(DemoSource):
    """Shared grid, near-daily acquisitions and binning of the Sentinel-3 collections."""

    start = date(2016, 4, 20)
    accepted_options: ClassVar[frozenset[str]] = frozenset(
        {"reprojection_type", "super_sampling", "flag_band", "flag_bitmask"}
    )
    # The Sentinel-3 fusion notebook writes ``supersampling``; CDSE's docs ``super_sampling``.
    option_aliases: ClassVar[Mapping[str, str]] = {"supersampling": "super_sampling"}
    flag_band: ClassVar[str | None] = None
    time_step = "P1D"
    time_description = "Near-daily, labelled by day at 00:00 UTC."

    def grid(self, bbox4326: tuple[float, float, float, float], bands: Sequence[Band]) -> Grid:
        """EPSG:4326 at the finest native step of the requested bands."""
        step = _finest_step(bands)
        return Grid.covering(bbox4326, 4326, (step, step), node_step=4)

    def acquisitions(
        self, bbox4326: tuple[float, float, float, float], first: int, stop: int
    ) -> list[Acquisition]:
        """The days on which a Sentinel-3 OLCI swath covers part of the bbox."""
        return orbit_acquisitions("sentinel-3", bbox4326, first, stop)

    def queryable_properties(self) -> dict[str, dict[str, Any]]:
        """Platform, orbit state and relative orbit."""
        return {
            "platform": {"type": "string", "enum": ["sentinel-3a", "sentinel-3b"]},
            "sat:orbit_state": {"type": "string", "enum": ["descending"]},
            "sat:relative_orbit": {"type": "integer", "minimum": 1, "maximum": 385},
        }

    def value(self, sc: optical.Scene, band: Band, day: float) -> Fields:
        """Values of a band on a scene (one date)."""
        raise NotImplementedError

    def chunk_fields(
        self, tile: Tile, acquisitions: Sequence[Acquisition], options: Mapping[str, Any]
    ) -> optical.ChunkPin | None:
        """Land cover, node weather and scenes of the tile the finest bands are evaluated on."""
        s = _super_sampling(options)
        if not 1 <= s <= 8:
            return None  # :meth:`render` refuses it
        return optical.pin_chunk(_source_tile(tile, s, 1), [acq.day for acq in acquisitions])

    def render(
        self,
        tile: Tile,
        band: Band,
        acquisitions: Sequence[Acquisition],
        options: Mapping[str, Any],
    ) -> np.ndarray:
        """One band on one chunk, sampled at pixel centres or binned from sub-pixels."""
        binning = options.get("reprojection_type", "nearest") == "binning"
        s = _super_sampling(options)
        flag_name = options.get("flag_band") if binning else None
        mask_bits = int(options.get("flag_bitmask", 0xFF))
        if s < 1 or s > 8:
            raise ProcessParameterInvalid(
                process="load_collection",
                parameter="featureflags",
                reason="super_sampling must be 1–8.",
            )
        if flag_name is not None and flag_name != self.flag_band:
            raise ProcessParameterInvalid(
                process="load_collection",
                parameter="featureflags",
                reason=f"flag_band '{flag_name}' is not a flag band of {self.id} ({self.flag_band or 'none'}).",
            )
        k = max(1, round(STEP_DEG[float(band.gsd or 300.0)] / tile.grid.rx))
        sub = _source_tile(tile, s, k)
        iy, ix = tile.pixel_index
        out = np.empty((len(acquisitions), *tile.shape), dtype=np.float32)
        for i, acq in enumerate(acquisitions):
            sc = optical.scene(sub, acq.day)
            values = self.value(sc, band, acq.day).astype(np.float32)
            if flag_name is not None:
                flags = self.value(sc, _flag_band(self), acq.day).astype(np.int64)
                values = np.where(flags & mask_bits, np.nan, values)
            if s > 1:
                ny, nx = tile.shape
                blocks = values.reshape(ny, s, nx, s)
                with np.errstate(invalid="ignore"):
                    count = np.isfinite(blocks).sum(axis=(1, 3))
                    values = np.where(
                        count > 0, np.nansum(blocks, axis=(1, 3)) / np.maximum(count, 1), np.nan
                    )
            elif k > 1:  # repeat the coarse band's pixels onto the grid
                values = values[iy // k - sub.iy0, ix // k - sub.ix0]
            out[i] = values
        return out


def _super_sampling(options: Mapping[str, Any]) -> int:
    """Sub-pixels per output pixel side: ``super_sampling`` when binning, else 1."""
    binning = options.get("reprojection_type", "nearest") == "binning"
    return int(options.get("super_sampling", 1)) if binning else 1


def _flag_band(source: _Sentinel3) -> Band:
    return next(b for b in source.bands if b.name == source.flag_band)


def _source_tile(tile: Tile, s: int, k: int) -> Tile:
    """The tile to evaluate: ``s``-times finer for binning, ``k``-times coarser for a coarse band."""
    g = tile.grid
    if k > 1:
        coarse = replace(g, rx=g.rx * k, ry=g.ry * k, node_step=max(1, g.node_step // k))
        return Tile(
            coarse, tile.iy0 // k, (tile.iy1 - 1) // k + 1, tile.ix0 // k, (tile.ix1 - 1) // k + 1
        )
    if s == 1:
        return tile
    fine = replace(g, rx=g.rx / s, ry=g.ry / s, node_step=g.node_step * s)
    return Tile(fine, tile.iy0 * s, tile.iy1 * s, tile.ix0 * s, tile.ix1 * s)


def _toa_reflectance(sc: optical.Scene, nm: float, cos_sza: Fields) -> NDArray[np.float64]:
    """Surface + Rayleigh path reflectance at the top of the atmosphere."""
    transmittance = np.exp(-0.5 * rayleigh_reflectance(nm) * 4.0)
    # A float64 scalar times the float32 reflectance: float64.
    toa: NDArray[np.float64] = rayleigh_reflectance(nm, 0.75) + transmittance * sc.reflectance(nm)
    return toa


class OlciL1B(_Sentinel3):
    """Synthetic Sentinel-3 OLCI Level-1B (CDSE id ``SENTINEL3_OLCI_L1B``)."""

    id = "SENTINEL3_OLCI_L1B"
    title = "Sentinel-3 OLCI Level-1B top-of-atmosphere radiance"
    description = __doc__ or ""
    keywords = ("Copernicus", "Sentinel", "Sentinel-3", "OLCI", "radiance", "L1B")
    bands = tuple(
        Band(
            f"B{i:02d}",
            f"OLCI Oa{i:02d} radiance ({nm} nm)",
            _common(nm),
            nm / 1000,
            w / 1000,
            300.0,
            "mW/m^2/sr/nm",
        )
        for i, (nm, w) in enumerate(_OLCI, start=1)
    )
    spatial_step = (_finest_step(bands),) * 2
    spatial_description = "EPSG:4326, 1/360° (~300 m)."
    summaries = _summaries("olci")

    def value(self, sc: optical.Scene, band: Band, day: float) -> Fields:
        """TOA radiance ``ρ E₀ cos θs / π``, darkened in the absorption bands."""
        nm = float(band.wavelength or 0.0) * 1000
        cos_sza = solar_cos_zenith(sc.static.lat, day)
        rho = _toa_reflectance(sc, nm, cos_sza) * _ABSORPTION.get(int(band.name[1:]), 1.0)
        return (rho * solar_irradiance(nm) * cos_sza / math.pi).astype(np.float32)


class SynL2(_Sentinel3):
    """Synthetic Sentinel-3 SYN Level-2 surface reflectance (CDSE id ``SENTINEL3_SYN_L2_SYN``)."""

    id = "SENTINEL3_SYN_L2_SYN"
    title = "Sentinel-3 SYN Level-2 surface reflectance"
    description = __doc__ or ""
    flag_band = "CLOUD_flags"
    keywords = (
        "Copernicus",
        "Sentinel",
        "Sentinel-3",
        "SYN",
        "OLCI",
        "SLSTR",
        "surface reflectance",
    )
    bands = (
        *(
            Band(
                f"Syn_Oa{i:02d}_reflectance",
                f"Surface reflectance, OLCI band Oa{i:02d}",
                _common(_OLCI[i - 1][0]),
                _OLCI[i - 1][0] / 1000,
                _OLCI[i - 1][1] / 1000,
                300.0,
                # The variable name inside the SYN product files, which CDSE accepts too.
                aliases=(f"SDR_Oa{i:02d}",),
            )
            for i in _SYN_BANDS
        ),
        Band(
            "CLOUD_flags",
            "Cloud flags: bit 0 cloud, bit 1 ambiguous, bit 2 margin",
            gsd=300.0,
            data_type="uint8",
        ),
    )
    spatial_step = (_finest_step(bands),) * 2
    spatial_description = "EPSG:4326, 1/360° (~300 m)."
    summaries = _summaries("olci")

    def value(self, sc: optical.Scene, band: Band, day: float) -> Fields:
        """Surface reflectance as seen (clouds included; flagged) or the cloud flags."""
        if band.name == "CLOUD_flags":
            flags = np.where(sc.cloud > 0.5, 1, 0) | np.where(
                (sc.cloud > 0.2) & (sc.cloud <= 0.5) | (sc.cirrus > 0.15), 2, 0
            )
            flags |= np.where((sc.cloud > 0.05) & (sc.cloud <= 0.2), 4, 0)
            return flags.astype(np.float32)
        return sc.reflectance(float(band.wavelength or 0.0) * 1000)


_SLSTR = (
    ("S1", 554.27, 19.26, 500.0, "green"), ("S2", 659.47, 19.25, 500.0, "red"), ("S3", 868.0, 20.6, 500.0, "nir"),
    ("S4", 1374.8, 20.8, 500.0, "cirrus"), ("S5", 1613.4, 60.68, 500.0, "swir16"), ("S6", 2255.7, 50.15, 500.0, "swir22"),
    ("S7", 3742.0, 398.0, 1000.0, None), ("S8", 10854.0, 776.0, 1000.0, "lwir11"), ("S9", 12022.5, 905.0, 1000.0, "lwir12"),
    ("F1", 3742.0, 398.0, 1000.0, None), ("F2", 10854.0, 776.0, 1000.0, None),
)  # fmt: skip


class SlstrL1B(_Sentinel3):
    """Synthetic Sentinel-3 SLSTR Level-1B (CDSE id ``SENTINEL3_SLSTR``)."""

    id = "SENTINEL3_SLSTR"
    title = "Sentinel-3 SLSTR Level-1B reflectance and brightness temperature"
    description = __doc__ or ""
    keywords = (
        "Copernicus",
        "Sentinel",
        "Sentinel-3",
        "SLSTR",
        "thermal",
        "brightness temperature",
    )
    bands = tuple(
        Band(
            name,
            f"{'TOA reflectance' if gsd == 500 else 'Brightness temperature'} ({nm / 1000:.2f} µm)",
            common, nm / 1000, w / 1000, gsd, None if gsd == 500 else "K",
        )
        for name, nm, w, gsd, common in _SLSTR
    )  # fmt: skip
    spatial_step = (_finest_step(bands),) * 2
    spatial_description = "EPSG:4326, 1/240° (~500 m) for S1–S6, 1/120° (~1 km) for S7–F2."
    summaries = _summaries("slstr")

    def value(self, sc: optical.Scene, band: Band, day: float) -> Fields:
        """TOA reflectance (S1–S6) or brightness temperature in K (S7–S9, F1, F2)."""
        nm = float(band.wavelength or 0.0) * 1000
        cos_sza = solar_cos_zenith(sc.static.lat, day)
        if band.unit != "K":
            if band.name == "S4":  # 1.375 µm: water vapour hides the surface, cirrus shows
                s4: Fields = (
                    0.004 + 0.02 * sc.surface(nm) * 0.1 + 0.6 * sc.cirrus + 0.3 * sc.cloud
                ).astype(np.float32)
                return s4
            return _toa_reflectance(sc, nm, cos_sza).astype(np.float32)
        return brightness_temperature(sc, band.name, day, cos_sza)


def brightness_temperature(sc: optical.Scene, name: str, day: float, cos_sza: Fields) -> Fields:
    """Brightness temperature (K): land surface warmed by the Sun, cold cloud tops."""
    st = sc.static
    air = 273.15 + world.temperature(st.lat, np.zeros_like(st.lat), day)
    heating = (4.0 + 8.0 * st.aridity - 4.0 * sc.veg) * cos_sza
    surface = air + np.where(st.water, -1.5, heating) - 3.0 * sc.snow
    cloud_top = air - 35.0
    bt = (1.0 - sc.cloud) * surface + sc.cloud * cloud_top - 8.0 * sc.cirrus
    if name == "S9":
        bt = bt - 0.6 - 1.2 * (1.0 - st.aridity)  # more water-vapour absorption at 12 µm
    elif name in ("S7", "F1"):
        bt = bt + 10.0 * sc.reflectance(3700.0) * cos_sza  # reflected sunlight at 3.7 µm
    return bt.astype(np.float32)
