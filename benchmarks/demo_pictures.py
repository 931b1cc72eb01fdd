"""Pictures of the demo world for the README: true colour, Sentinel-1 VV (dB) and NDVI.

Run: ``.venv/bin/python benchmarks/demo_pictures.py panels OUT.npz`` to compute the
panels with the eostation on ``sys.path`` (point ``PYTHONPATH`` at an older checkout's
``src`` for "before"), then ``... compose BEFORE.npz AFTER.npz docs/img`` to draw one
PNG per place with a "before" and an "after" row. Not part of the test suite.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np

#: name -> (bbox, pixel size in metres, title)
PLACES = {
    "coast": ((4.40, 52.25, 4.70, 52.45), 50.0, "North Sea coast at Zandvoort, 50 m"),
    "garda": ((10.45, 45.40, 10.95, 45.90), 100.0, "Lake Garda, 100 m"),
    "po": ((10.60, 45.05, 10.64, 45.08), 10.0, "Po valley fields near Mantua, 10 m"),
    "alps": ((10.00, 46.30, 10.40, 46.60), 100.0, "Alps: Valtellina and Bernina, 100 m"),
}
JUNE = ("2022-06-01", "2022-07-01")


def panels(out: str) -> None:
    """Compute true colour, S1 VV dB and NDVI of each place on its clearest June day."""
    from eostation.data.demo import optical
    from eostation.data.demo.grid import Grid, utm_epsg
    from eostation.data.demo.sentinel1 import Sentinel1GRD
    from eostation.data.demo.source import day_number

    s1 = Sentinel1GRD()
    arrays: dict[str, np.ndarray] = {}
    first, stop = (day_number(np.datetime64(d).astype(object)) for d in JUNE)
    for name, (bbox, res, _) in PLACES.items():
        epsg = utm_epsg((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        grid = Grid.covering(bbox, epsg, (res, res), node_step=max(1, int(160 / res)))
        tile = grid.tile(0, grid.ny, 0, grid.nx)
        days = range(first, stop, 1)
        day = min(days, key=lambda d: float(optical.scene(tile, d).cloud.mean()))
        sc = optical.scene(tile, day)
        rgb = np.stack([sc.reflectance(w) for w in (665.0, 560.0, 490.0)], axis=-1)
        arrays[f"{name}_rgb"] = rgb
        arrays[f"{name}_ndvi"] = sc.ndvi()
        acq = s1.acquisitions(bbox, first, stop)[0]
        vv = s1.render(tile, next(b for b in s1.bands if b.name == "VV"), [acq], {})[0]
        arrays[f"{name}_vv"] = 10 * np.log10(np.maximum(vv, 1e-6))
    np.savez_compressed(out, **arrays)


def compose(before: str, after: str, folder: str) -> None:
    """One PNG per place: rows before/after, columns true colour, S1 VV dB, NDVI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    runs = {"before": np.load(before), "after": np.load(after)}
    for name, (_, _, title) in PLACES.items():
        fig, axes = plt.subplots(2, 3, figsize=(7.2, 5.0), dpi=90)
        for row, (label, data) in enumerate(runs.items()):
            rgb = np.clip(data[f"{name}_rgb"] * 3.5, 0, 1) ** (1 / 1.4)
            axes[row, 0].imshow(rgb, interpolation="nearest")
            axes[row, 1].imshow(data[f"{name}_vv"], cmap="gray", vmin=-28, vmax=0)
            axes[row, 2].imshow(data[f"{name}_ndvi"], cmap="RdYlGn", vmin=-0.2, vmax=0.9)
            axes[row, 0].set_ylabel(label)
        for ax, col in zip(axes[0], ("S2 true colour", "S1 VV (−28..0 dB)", "NDVI"), strict=True):
            ax.set_title(col, fontsize=9)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        # A 256-colour palette keeps each picture well under 300 KB despite the speckle.
        image = Image.open(buffer).convert("RGB").quantize(256)
        image.save(Path(folder) / f"demo_{name}.png", optimize=True)


if __name__ == "__main__":
    if sys.argv[1] == "panels":
        panels(sys.argv[2])
    else:
        compose(sys.argv[2], sys.argv[3], sys.argv[4])
