"""Results of the engine benchmark: one JSON file per piece, merged into one table.

A full 2048² best-of-3 run (4 workloads × 3 layouts × 2 sides × 3) takes longer than one
quiet window on the shared machine, so ``bench_engine.py`` runs it in pieces (one per
``--layouts``/``--only`` choice). Each piece keeps every single run of both sides and
the load average of its own start and end in ``engine-<N>px_<D>d-<layouts>-<only>.json``;
:func:`merge` combines the pieces of one input size (for a layout and workload measured
twice, the later piece wins) into ``engine.md``: the full table with the median and the
best of the runs, and a README-ready table per statistic.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["merge", "piece_path", "readme_table", "summary", "table", "write_piece"]

TITLES = {
    "W1": "mean over t, 4 bands → GTiff",
    "W2": "NDVI, SCL mask, median over t → GTiff",
    "W3": "aggregate_spatial 1,000 fields, mean → JSON",
    "W4": "NDVI month mean → netCDF",
}
LAYOUT_NAMES = {
    "zarr-t1": "Zarr `t=1`",
    "cog": "one COG per band and date",
    "zarr-all": "Zarr all dates per chunk",
}
README_COLUMNS = {"W1": "W1 mean", "W2": "W2 median", "W3": "W3 zonal", "W4": "W4 monthly"}
STATS: dict[str, Callable[[list[float]], float]] = {"median": statistics.median, "best": min}
MB = 2**20


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, ``a/b/c``."""
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def piece_path(results: Path, side: int, dates: int, layouts: str, only: str) -> Path:
    """Where the piece of one ``--layouts``/``--only`` choice is written."""
    key = f"{layouts.replace(',', '+')}-{only.replace(',', '+')}"
    return results / f"engine-{side}px_{dates}d-{key}.json"


def write_piece(path: Path, piece: dict[str, Any]) -> None:
    """Write one piece (its rows keep every run of both sides and their loads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(piece, indent=1) + "\n")


def summary(runs: list[dict[str, float]], stat: str) -> dict[str, float]:
    """One side's runs reduced by ``stat`` (wall and CPU; peak memory is the largest
    peak and the smallest RSS after imports whatever the statistic)."""
    reduce = STATS[stat]
    return {
        "wall": reduce([r["wall"] for r in runs]),
        "cpu": reduce([r["cpu"] for r in runs]),
        "peak": max(r["peak"] for r in runs),
        "start": min(r["start"] for r in runs),
    }


def _ratios(row: dict[str, Any], stat: str) -> tuple[float, float, float]:
    e, b = summary(row["runs"]["eostation"], stat), summary(row["runs"]["baseline"], stat)
    return e["wall"] / b["wall"], e["cpu"] / b["cpu"], e["peak"] / b["peak"]


def table(rows: list[dict[str, Any]]) -> str:
    """The full Markdown table: per layout and workload, both sides as median (best),
    wall and CPU ratios of the medians and of the bests, peak memory, equality, load."""
    lines = [
        "| layout | workload | eostation median (best) | hand-written median (best) "
        "| wall ratio median / best | CPU ratio median / best | eostation peak "
        "| hand-written peak | memory ratio | outputs equal | load (piece start → end) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        med = {s: summary(r["runs"][s], "median") for s in ("eostation", "baseline")}
        best = {s: summary(r["runs"][s], "best") for s in ("eostation", "baseline")}
        e, b = med["eostation"], med["baseline"]
        de, db = e["peak"] - e["start"], b["peak"] - b["start"]
        wall_m, cpu_m, mem = _ratios(r, "median")
        wall_b, cpu_b, _ = _ratios(r, "best")
        cells = [
            r["layout"],
            f"{r['workload']} {TITLES[r['workload']]}",
            *(
                f"{med[s]['wall']:.2f} s ({best[s]['wall']:.2f} s); {med[s]['cpu']:.1f} s CPU"
                for s in ("eostation", "baseline")
            ),
            f"{wall_m:.2f}× / {wall_b:.2f}×",
            f"{cpu_m:.2f}× / {cpu_b:.2f}×",
            f"{e['peak'] / MB:.0f} MB ({de / MB:.0f})",
            f"{b['peak'] / MB:.0f} MB ({db / MB:.0f})",
            f"{mem:.2f}× ({de / max(db, 1):.2f}×)",
            r.get("equal", "—"),
            f"{r['load_start']:.1f} → {r['load_end']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_table(rows: list[dict[str, Any]], stat: str) -> str:
    """Layouts × W1–W4 as the README shows them: wall ratio (CPU ratio), the range of
    peak-memory ratios, and the 1-minute load average at the start and end of the
    layout's pieces."""
    workloads = [w for w in README_COLUMNS if any(r["workload"] == w for r in rows)]
    head = " | ".join(README_COLUMNS[w] for w in workloads)
    lines = [
        f"| layout | {head} | peak memory ratio | load |",
        "| --- |" + " ---: |" * (len(workloads) + 1) + " --- |",
    ]
    for layout in [k for k in LAYOUT_NAMES if any(r["layout"] == k for r in rows)]:
        mine = {r["workload"]: r for r in rows if r["layout"] == layout}
        cells, mems, loads = [], [], []
        for w in workloads:
            if w not in mine:
                cells.append("—")
                continue
            wall, cpu, mem = _ratios(mine[w], stat)
            cells.append(f"{wall:.2f}× ({cpu:.2f}×)")
            mems.append(mem)
            loads += [mine[w]["load_start"], mine[w]["load_end"]]
        memory = f"{min(mems):.2f}–{max(mems):.2f}×" if mems else "—"
        load = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "—"
        lines.append(f"| {LAYOUT_NAMES[layout]} | {' | '.join(cells)} | {memory} | {load} |")
    return "\n".join(lines)


def merge(results: Path, side: int, dates: int) -> str:
    """Merge every piece of ``side``² × ``dates`` under ``results`` into ``engine.md``
    (the later piece wins for a layout and workload measured twice); returns its text."""
    pieces = [
        json.loads(p.read_text()) for p in sorted(results.glob(f"engine-{side}px_{dates}d-*.json"))
    ]
    if not pieces:
        raise SystemExit(f"no pieces of {side}² × {dates} dates under {results}")
    pieces.sort(key=lambda p: p["ended"])
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for piece in pieces:
        for row in piece["rows"]:
            merged[row["layout"], row["workload"]] = row
    order = {k: i for i, k in enumerate(LAYOUT_NAMES)}
    rows = sorted(merged.values(), key=lambda r: (order.get(r["layout"], 9), r["workload"]))
    repeats = sorted({len(r["runs"]["eostation"]) for r in rows})
    listing = "\n".join(
        f"- `{p['command']}`: {p['started']} → {p['ended']} UTC, load {p['load_start']} → "
        f"{p['load_end']}{', alone on the machine (quiet)' if p['quiet'] else ''}"
        for p in pieces
    )
    text = (
        f"# Engine benchmark\n\nInput: {side} × {side} px × {dates} dates, 5 bands; "
        f"{'/'.join(map(str, repeats))} run(s) per side, alternating, cold page cache, a "
        f"fresh process per run; {os.cpu_count()} cores, Python {platform.python_version()}."
        " Times: wall seconds of the work, median (best); CPU: user + sys seconds of the "
        "process during the work. Memory: largest peak RSS of the runs (in brackets: "
        "increase over the RSS after imports). Load: 1-minute load average at the start "
        f"and end of the row.\n\nPieces merged:\n\n{listing}\n\n{table(rows)}\n\n"
        "README table, medians (wall ratio, CPU ratio in brackets):\n\n"
        f"{readme_table(rows, 'median')}\n\n"
        "README table, best of the runs:\n\n"
        f"{readme_table(rows, 'best')}\n"
    )
    (results / "engine.md").write_text(text)
    return text


def now() -> str:
    """The time of day in UTC, for the piece's listing."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
