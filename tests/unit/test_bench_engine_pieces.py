"""The engine benchmark's pieces merge into one table: every row keeps its own piece's
load, the later piece wins, and median and best are computed from the kept runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.engine_results import merge, piece_path, readme_table, write_piece

MB = 2**20


def _runs(walls: list[float], cpu: float, peak_mb: int) -> list[dict[str, float]]:
    return [{"wall": w, "cpu": cpu * w, "peak": peak_mb * MB, "start": 100 * MB} for w in walls]


def _row(layout: str, workload: str, mine: list[float], theirs: list[float], load: float) -> Any:
    return {
        "layout": layout,
        "workload": workload,
        "load_start": load,
        "load_end": load + 0.5,
        "runs": {"eostation": _runs(mine, 1.5, 300), "baseline": _runs(theirs, 1.0, 200)},
        "equal": "yes (max rel. 0e+00)",
    }


def _piece(command: str, ended: str, rows: list[Any]) -> dict[str, Any]:
    return {
        "command": command,
        "started": ended,
        "ended": ended,
        "load_start": "1.0/1.0/1.0",
        "load_end": "2.0/1.0/1.0",
        "quiet": True,
        "rows": rows,
    }


def test_pieces_merge_into_one_table_with_median_best_and_own_load(tmp_path: Path) -> None:
    first = _piece(
        "bench_engine.py --layouts zarr-t1",
        "2026-12-06 18:00:00",
        [
            _row("zarr-t1", "W1", [3.0, 2.0, 4.0], [2.0, 2.5, 1.6], 1.2),
            _row("zarr-t1", "W2", [5.0, 5.0, 5.0], [5.0, 5.0, 5.0], 1.4),
        ],
    )
    cog = _piece(
        "bench_engine.py --layouts cog --only W1",
        "2026-12-06 18:10:00",
        [_row("cog", "W1", [8.0, 9.0, 10.0], [6.0, 6.0, 6.0], 2.5)],
    )
    # A later re-run of zarr-t1 W2 replaces the first piece's row, not W1's.
    again = _piece(
        "bench_engine.py --layouts zarr-t1 --only W2",
        "2026-12-06 18:20:00",
        [_row("zarr-t1", "W2", [6.0, 6.0, 6.0], [4.0, 4.0, 4.0], 3.0)],
    )
    for piece, layouts, only in [
        (cog, "cog", "W1"),
        (first, "zarr-t1", "W1,W2"),
        (again, "zarr-t1", "W2"),
    ]:
        write_piece(piece_path(tmp_path, 64, 3, layouts, only), piece)
    write_piece(piece_path(tmp_path, 128, 3, "cog", "W1"), _piece("other size", "x", []))

    text = merge(tmp_path, 64, 3)

    assert (tmp_path / "engine.md").read_text() == text
    assert "other size" not in text
    medians, best = text.split("README table, medians")[1].split("README table, best")
    # zarr-t1 W1: medians 3.0 / 2.0 = 1.50×, bests 2.0 / 1.6 = 1.25×; CPU is 1.5 × wall
    # against 1.0 × wall; W2 comes from the later piece: 6 / 4; memory 300 / 200 MB.
    assert "| Zarr `t=1` | 1.50× (2.25×) | 1.50× (2.25×) | 1.50–1.50× | 1.2–3.5 |" in medians
    assert "| Zarr `t=1` | 1.25× (1.88×) | 1.50× (2.25×) | 1.50–1.50× | 1.2–3.5 |" in best
    assert "| one COG per band and date | 1.50× (2.25×) | — | 1.50–1.50× | 2.5–3.0 |" in medians
    full = [line for line in text.splitlines() if line.startswith("| zarr-t1 | W1")]
    assert full == [
        "| zarr-t1 | W1 mean over t, 4 bands → GTiff | 3.00 s (2.00 s); 4.5 s CPU "
        "| 2.00 s (1.60 s); 2.0 s CPU | 1.50× / 1.25× | 2.25× / 1.88× | 300 MB (200) "
        "| 200 MB (100) | 1.50× (2.00×) | yes (max rel. 0e+00) | 1.2 → 1.7 |"
    ]
    assert text.index("--layouts cog --only W1") < text.index("--layouts zarr-t1 --only W2")
    assert json.loads(piece_path(tmp_path, 64, 3, "zarr-t1", "W1,W2").read_text()) == first


def test_readme_table_leaves_unmeasured_cells_empty() -> None:
    rows = [_row("zarr-all", "W4", [1.0], [2.0], 0.7)]
    assert readme_table(rows, "median").splitlines() == [
        "| layout | W4 monthly | peak memory ratio | load |",
        "| --- | ---: | ---: | --- |",
        "| Zarr all dates per chunk | 0.50× (0.75×) | 1.50–1.50× | 0.7–1.2 |",
    ]
