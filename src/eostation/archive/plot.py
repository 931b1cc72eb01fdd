"""Rendering a queried area to a PNG (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["plot_dataset"]

#: Band triplets shown as true colour when all three are present.
_RGB = (("B04", "B03", "B02"), ("red", "green", "blue"))


def _stretch(rgb: np.ndarray) -> np.ndarray:
    lo, hi = np.nanpercentile(rgb, [2, 98])
    out = np.clip((rgb - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    return np.where(np.isnan(out), 1.0, out)


def plot_dataset(ds: xr.Dataset, path: Path | str | None = None, time_index: int = 0) -> Any:
    """Plot one date of a gridded query: true colour if B04/B03/B02 are there, else the first band.

    Returns the matplotlib Figure; writes a PNG when ``path`` is given.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if ds.sizes.get("time", 0) == 0:
        raise ValueError("nothing to plot: the query matched no date")
    lon, lat = ds.longitude.values, ds.latitude.values
    dlon = float(abs(lon[1] - lon[0])) if lon.size > 1 else 0.0
    dlat = float(abs(lat[1] - lat[0])) if lat.size > 1 else 0.0
    extent = (lon[0] - dlon / 2, lon[-1] + dlon / 2, lat[-1] - dlat / 2, lat[0] + dlat / 2)
    when = str(ds.time.values[time_index])[:19]
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    rgb = next((t for t in _RGB if all(b in ds for b in t)), None)
    if rgb is not None:
        stack = np.stack([ds[b].values[time_index] for b in rgb], axis=-1)
        ax.imshow(_stretch(stack), extent=extent, interpolation="nearest")
        title = "true colour (" + "/".join(rgb) + ")"
    else:
        band = str(next(iter(ds.data_vars)))
        img = ax.imshow(
            ds[band].values[time_index], extent=extent, interpolation="nearest", cmap="viridis"
        )
        fig.colorbar(img, ax=ax, shrink=0.8, label=band)
        title = band
    ax.set_aspect(1.0 / max(np.cos(np.radians(float(np.mean(lat)))), 1e-6))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title(f"{title}, {when}, HEALPix level {ds.attrs.get('dggs_level', '?')}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    return fig
