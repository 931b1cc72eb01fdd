"""Sentinel-3 SLSTR Level-2 LST products (``SL_2_LST___``): a ``.SEN3`` folder as the real one.

Written with the real files' names, on the 1 km nadir (``in``) grid:

- ``LST_in.nc``: ``LST`` (K) as int16 with ``scale_factor`` 0.002 and ``add_offset``
  290 (224.5–355.5 K), fill -32768 over water; ``LST_uncertainty`` (K, int16, scale
  0.001); ``exception`` (uint8 flags);
- ``flags_in.nc``: ``confidence_in`` (uint16) with the real product's ``flag_masks`` and
  ``flag_meanings``;
- ``geodetic_in.nc`` (``latitude_in``, ``longitude_in``), ``time_in.nc``
  (``time_stamp_i``), ``xfdumanifest.xml``.

Values are ``SENTINEL3_SLSTR_L2_LST``'s (:mod:`eostation.data.demo.sentinel3_lst`) at the
same pixels, within half a count. The real product's ``LST_ancillary.nc`` (NDVI, biome,
water vapour), meteorology, geometry and cartesian files are not written: the demo world
has no such data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np

from .plan import ProductPlan
from .sen3 import write_geolocation, write_manifest, write_times
from .slstr import write_counts, write_grid

__all__ = ["LST_BANDS", "LST_OFFSET", "LST_SCALE", "write_lst"]

LST_SCALE: Final = 0.002
LST_OFFSET: Final = 290.0
UNCERTAINTY_SCALE: Final = 0.001
LST_BANDS: Final = ["LST", "LST_uncertainty", "exception", "confidence_in"]
_FILL_I16: Final = np.int16(-32768)
#: The SLSTR confidence word's bits, in order (the real product's ``flag_meanings``).
_CONFIDENCE_MEANINGS: Final = (
    "coastline ocean tidal land inland_water unfilled spare spare cosmetic duplicate day "
    "twilight sun_glint snow summary_cloud summary_pointing"
)
_EXCEPTION_MEANINGS: Final = (
    "ISP_absent pixel_absent not_decompressed no_signal saturation invalid_radiance "
    "no_parameters unfilled_pixel"
)


def write_lst(folder: Path, plan: ProductPlan, cube: Any | None, shape: tuple[int, int]) -> None:
    """Write ``<name>.SEN3/`` into ``folder``; ``cube`` None writes a zero template."""
    root = folder / plan.name
    root.mkdir()
    write_manifest(root, plan, shape, "SL_2_LST___", "slstr/level-2")
    write_geolocation(root / "geodetic_in.nc", cube, shape, ("latitude_in", "longitude_in"))
    write_times(root / "time_in.nc", plan, shape[0], cube is None, "time_stamp_i")

    def band(name: str) -> np.ndarray | None:
        if cube is None:
            return None
        return np.asarray(cube.sel(bands=name).isel(t=0).values, np.float64)

    lst_file = root / "LST_in.nc"
    write_counts(
        lst_file,
        "LST",
        (band("LST"), shape),
        (_FILL_I16, (-32767, 32767)),
        (LST_SCALE, LST_OFFSET),
        {"units": "K", "long_name": "Gridded land surface temperature"},
    )
    write_counts(
        lst_file,
        "LST_uncertainty",
        (band("LST_uncertainty"), shape),
        (_FILL_I16, (0, 32767)),
        (UNCERTAINTY_SCALE, 0.0),
        {"units": "K", "long_name": "Land surface temperature uncertainty"},
    )
    for name, file, dtype, meanings in (
        ("exception", lst_file, "u1", _EXCEPTION_MEANINGS),
        ("confidence_in", root / "flags_in.nc", "u2", _CONFIDENCE_MEANINGS),
    ):
        values = band(name)
        flags = np.zeros(shape, dtype) if values is None else values.astype(dtype)
        bits = len(meanings.split())
        write_grid(
            file,
            name,
            flags,
            {
                "flag_masks": np.array([1 << i for i in range(bits)], dtype),
                "flag_meanings": meanings,
            },
        )
