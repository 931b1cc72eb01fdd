"""``sar_backscatter``: backscatter coefficient conversion for cubes that carry the angles.

A SAR cube qualifies when it holds σ⁰ on the ellipsoid (``sigma0-ellipsoid``, linear
power) in its polarisation bands plus the bands ``incidence_angle`` (θe, degrees, on
the ellipsoid) and ``local_incidence_angle`` (θl, degrees, against the terrain), as
``SENTINEL1_GRD`` does. Conversions (element-wise, lazy):

- β⁰ = σ⁰ / sin θe;  γ⁰ ellipsoid = σ⁰ / cos θe;
- γ⁰ terrain ≈ σ⁰ · tan θl / sin θe;  σ⁰ terrain = σ⁰ · sin θl / sin θe.

Other cubes raise a clear error: no radiometric processing from raw products here.

A ``load_collection`` of only the polarisations (``["VV", "VH"]``, the usual CDSE call)
that feeds ``sar_backscatter`` directly also loads the angle bands behind the scenes
(a pushdown rule); the output holds the polarisations (and requested extra bands) only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
import xarray as xr

from eostation.engine.cube import band_dimension
from eostation.engine.processes.cubes.schemas import SPATIAL_XY, datacube
from eostation.engine.pushdown import register_band_needs
from eostation.engine.registry import process
from eostation.engine.schema import Param
from eostation.errors import ProcessParameterInvalid

__all__ = ["sar_backscatter"]

SarCube = Annotated[Any, Param(datacube(SPATIAL_XY, {"type": "bands"}))]
_ANGLES = ("incidence_angle", "local_incidence_angle")
_DEMS = (None, "COPERNICUS_30")


def _invalid(parameter: str, reason: str, exception: str | None = None) -> ProcessParameterInvalid:
    extra = {"exception": exception} if exception else {}
    return ProcessParameterInvalid(
        process="sar_backscatter", parameter=parameter, reason=reason, **extra
    )


@register_band_needs("sar_backscatter")
def _angle_bands(arguments: Mapping[str, Any]) -> tuple[str, ...]:
    """The bands the conversion reads (none when σ⁰ stays σ⁰ and no angle is asked for)."""
    extras = ("mask", "local_incidence_angle", "ellipsoid_incidence_angle")
    coefficient = arguments.get("coefficient", "gamma0-terrain")
    if coefficient in (None, "sigma0-ellipsoid") and not any(arguments.get(e) for e in extras):
        return ()
    return _ANGLES


def _convert(
    sigma0: xr.DataArray, theta_e: xr.DataArray, theta_l: xr.DataArray, coefficient: str
) -> xr.DataArray:
    sin_e = np.sin(np.radians(theta_e))
    if coefficient == "sigma0-ellipsoid":
        return sigma0
    if coefficient == "beta0":
        return sigma0 / sin_e
    if coefficient == "gamma0-ellipsoid":
        return sigma0 / np.cos(np.radians(theta_e))
    rad_l = np.radians(theta_l)
    if coefficient == "gamma0-terrain":
        return sigma0 * np.tan(rad_l) / sin_e
    return sigma0 * np.sin(rad_l) / sin_e  # sigma0-terrain


@process(
    "sar_backscatter",
    categories=("cubes", "sar"),
    experimental=True,
    exceptions={"DigitalElevationModelInvalid": "The elevation model is not available."},
)
def sar_backscatter(
    data: SarCube,
    coefficient: Annotated[
        Any,
        Param(
            [
                {
                    "type": "string",
                    "enum": [
                        "beta0",
                        "sigma0-ellipsoid",
                        "sigma0-terrain",
                        "gamma0-ellipsoid",
                        "gamma0-terrain",
                    ],
                },
                {"type": "null"},
            ]
        ),
    ] = "gamma0-terrain",
    elevation_model: Annotated[
        Any, Param([{"type": "string", "subtype": "collection-id"}, {"type": "null"}])
    ] = None,
    mask: bool = False,
    contributing_area: bool = False,
    local_incidence_angle: bool = False,
    ellipsoid_incidence_angle: bool = False,
    noise_removal: bool = True,
    options: Annotated[
        dict[str, Any], Param({"type": "object", "additionalProperties": False})
    ] = {},  # noqa: B006
) -> SarCube:
    """Convert SAR backscatter to the requested coefficient (β⁰, σ⁰ or γ⁰).

    Works on cubes carrying σ⁰ (ellipsoid, linear) with the bands `incidence_angle` and
    `local_incidence_angle` (e.g. `SENTINEL1_GRD`); the terrain-based coefficients use the
    local incidence angle derived from the collection's elevation model.

    Args:
        data: A SAR cube with polarisation bands and the incidence angle bands.
        coefficient: `beta0`, `sigma0-ellipsoid`, `sigma0-terrain`, `gamma0-ellipsoid` or
            `gamma0-terrain`; null keeps the values as they are.
        elevation_model: The elevation model; null or `COPERNICUS_30` (already applied).
        mask: Add a band `mask`: 1 where the terrain faces away from the sensor (shadow)
            or steeper than the look angle (layover), else 0.
        contributing_area: Not supported (the request fails).
        local_incidence_angle: Add the band `local_incidence_angle` (degrees).
        ellipsoid_incidence_angle: Add the band `ellipsoid_incidence_angle` (degrees).
        noise_removal: Thermal noise is already removed in the supported data.
        options: No extra options are supported.

    Returns:
        The cube with converted polarisation bands, plus the requested extra bands.
    """
    if elevation_model not in _DEMS:
        raise _invalid(
            "elevation_model",
            f"'{elevation_model}' is not available; use COPERNICUS_30",
            "DigitalElevationModelInvalid",
        )
    if contributing_area:
        raise _invalid("contributing_area", "the contributing area is not supported")
    if options:
        raise _invalid("options", f"unsupported options: {', '.join(options)}")
    dim = band_dimension(data)
    names = [str(b) for b in data[dim].values]
    needed = _angle_bands(
        {
            "coefficient": coefficient,
            "mask": mask,
            "local_incidence_angle": local_incidence_angle,
            "ellipsoid_incidence_angle": ellipsoid_incidence_angle,
        }
    )
    if not needed:  # σ⁰ on the ellipsoid is what the cube holds
        return data.sel({dim: [n for n in names if n not in _ANGLES]})
    if any(a not in names for a in _ANGLES):
        raise _invalid(
            "data",
            "this cube lacks the bands 'incidence_angle' and 'local_incidence_angle' needed to "
            "convert coefficients; load SENTINEL1_GRD with those bands",
        )
    polarisations = [n for n in names if n not in _ANGLES]
    theta_e = data.sel({dim: "incidence_angle"}, drop=True)
    theta_l = data.sel({dim: "local_incidence_angle"}, drop=True)
    sigma0 = data.sel({dim: polarisations})
    parts = [_convert(sigma0, theta_e, theta_l, coefficient or "sigma0-ellipsoid")]
    extra: list[tuple[str, xr.DataArray]] = []
    if mask:
        extra.append(("mask", ((theta_l <= 0) | (theta_l >= 90)).astype(sigma0.dtype)))
    if local_incidence_angle:
        extra.append(("local_incidence_angle", theta_l))
    if ellipsoid_incidence_angle:
        extra.append(("ellipsoid_incidence_angle", theta_e))
    parts += [band.expand_dims({dim: [name]}) for name, band in extra]
    out = xr.concat(parts, dim=dim) if len(parts) > 1 else parts[0]
    return out.transpose(*data.dims).assign_attrs(data.attrs)
