"""Speed of the demo world's orbit model: a year of passes over a small bbox.

Run: ``.venv/bin/python benchmarks/bench_orbits.py``. For each mission, the time of
:func:`eostation.data.demo.orbits.passes` over a 0.1° bbox at 46° N for 2023, against a
baseline measured in the same run: sampling every satellite's ground track once a
minute over the year with numpy (``track`` on 525,600 instants per satellite), the
brute-force way to find when a satellite is near a place. Reported as a ratio (how many
times faster than the baseline). Not part of the test suite.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eostation.data.demo.fleet import track
from eostation.data.demo.orbits import MISSIONS, passes, satellites

BBOX = (11.0, 46.0, 11.1, 46.1)
START, END = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)


def _best(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    print(f"{'mission':12} {'passes':>7} {'passes()':>10} {'baseline':>10} {'ratio':>8}")
    for mission in MISSIONS:
        found = passes(mission, BBOX, START, END)
        ours = _best(lambda m=mission: passes(m, BBOX, START, END))

        def brute(m: str = mission) -> None:
            minutes = np.arange(START.timestamp(), END.timestamp(), 60.0)
            for sat in satellites(m):
                u = (minutes - sat.anx0.timestamp()) % sat.period_s / sat.period_s * 360.0
                track(sat, sat.anx0.timestamp(), u)

        base = _best(brute, repeat=2)
        print(
            f"{mission:12} {len(found):7d} {ours * 1e3:8.1f} ms {base * 1e3:8.1f} ms "
            f"{base / ours:7.1f}×"
        )


if __name__ == "__main__":
    main()
