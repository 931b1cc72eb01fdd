"""Reflectance spectra of the surface and cloud end-members, and the Sun's irradiance.

Spectra are piecewise-linear through a few anchor wavelengths (nm), shaped after
the textbook curves: chlorophyll absorption in blue and red, the red edge, the NIR
plateau of leaves, liquid-water absorption in the SWIR, bright snow that turns dark
beyond 1.4 µm, and nearly flat bright clouds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ENDMEMBERS", "rayleigh_reflectance", "reflectance", "solar_irradiance"]

_ANCHORS = np.array(
    [400, 443, 490, 560, 620, 665, 705, 740, 783, 842, 865, 945, 1020, 1375, 1610, 2190, 2250, 3700]
)

#: Reflectance (0–1) of each end-member at the anchor wavelengths.
ENDMEMBERS: dict[str, np.ndarray] = {
    "vegetation": np.array(
        [
            0.03,
            0.035,
            0.045,
            0.10,
            0.05,
            0.025,
            0.13,
            0.34,
            0.45,
            0.48,
            0.49,
            0.44,
            0.42,
            0.10,
            0.26,
            0.12,
            0.11,
            0.03,
        ]
    ),
    "soil": np.array(
        [
            0.07,
            0.08,
            0.10,
            0.15,
            0.19,
            0.21,
            0.23,
            0.25,
            0.26,
            0.28,
            0.285,
            0.29,
            0.30,
            0.25,
            0.35,
            0.31,
            0.30,
            0.15,
        ]
    ),
    "sand": np.array(
        [
            0.15,
            0.18,
            0.22,
            0.30,
            0.38,
            0.42,
            0.44,
            0.46,
            0.47,
            0.49,
            0.50,
            0.50,
            0.51,
            0.40,
            0.55,
            0.48,
            0.47,
            0.20,
        ]
    ),
    "water": np.array(
        [
            0.07,
            0.065,
            0.06,
            0.045,
            0.03,
            0.022,
            0.018,
            0.012,
            0.010,
            0.008,
            0.007,
            0.005,
            0.004,
            0.001,
            0.002,
            0.001,
            0.001,
            0.01,
        ]
    ),
    "urban": np.array(
        [
            0.08,
            0.09,
            0.10,
            0.12,
            0.13,
            0.14,
            0.15,
            0.16,
            0.17,
            0.18,
            0.185,
            0.19,
            0.20,
            0.15,
            0.24,
            0.20,
            0.20,
            0.10,
        ]
    ),
    "snow": np.array(
        [
            0.92,
            0.93,
            0.93,
            0.92,
            0.90,
            0.89,
            0.87,
            0.85,
            0.82,
            0.78,
            0.76,
            0.62,
            0.55,
            0.05,
            0.10,
            0.05,
            0.04,
            0.03,
        ]
    ),
    "cloud": np.array(
        [
            0.72,
            0.73,
            0.74,
            0.74,
            0.74,
            0.73,
            0.73,
            0.72,
            0.72,
            0.71,
            0.70,
            0.64,
            0.66,
            0.30,
            0.50,
            0.32,
            0.30,
            0.20,
        ]
    ),
    "cirrus": np.array(
        [
            0.20,
            0.20,
            0.20,
            0.20,
            0.19,
            0.19,
            0.19,
            0.19,
            0.18,
            0.18,
            0.18,
            0.17,
            0.17,
            0.18,
            0.15,
            0.10,
            0.10,
            0.05,
        ]
    ),
}


def reflectance(endmember: str, wavelength_nm: float) -> float:
    """Reflectance of an end-member at a wavelength (linear between anchors)."""
    return float(np.interp(wavelength_nm, _ANCHORS, ENDMEMBERS[endmember]))


def rayleigh_reflectance(wavelength_nm: float, cos_sza: float = 0.75) -> float:
    """Approximate Rayleigh path reflectance (sea-level), falling as λ⁻⁴."""
    tau = 0.008569 * (wavelength_nm / 1000.0) ** -4 * (1 + 0.0113 * (wavelength_nm / 1000.0) ** -2)
    return float(0.5 * tau / (4.0 * cos_sza) * 1.5)


def solar_irradiance(wavelength_nm: float) -> float:
    """Top-of-atmosphere solar spectral irradiance (mW m⁻² nm⁻¹): a 5778 K black body."""
    lam = wavelength_nm * 1e-9
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    radiance = 2 * h * c**2 / lam**5 / np.expm1(h * c / (lam * k * 5778.0))  # W m-2 sr-1 m-1
    # Dilute to 1 AU (solid angle of the Sun) and convert to mW m-2 nm-1.
    return float(radiance * 6.794e-5 * 1e-9 * 1e3)
