"""The items index on pgstac (PostgreSQL + PostGIS) side by side with the SQLite index.

Both hold the same synthetic items (``bench_catalog.synthetic_items``) and answer the same
200 bbox (1°) + datetime (one month) searches, limit 10 with ``numberMatched``, and a
paging run through 10,000 results (1,000 a page); every answer is compared (ids and
count) so that a faster wrong answer cannot pass. SQLite is the baseline of the same run.

Fill once, then measure (the fill is not part of the figures)::

    python benchmarks/bench_pgstac.py prepare /tmp/bench-pgstac [items]   # default 100,000
    python benchmarks/bench_pgstac.py measure /tmp/bench-pgstac

PostgreSQL runs from the distribution's binaries on a free loopback port
(``tests/pg_server.py``), its data directory under the given one.
"""

from __future__ import annotations

import os
import pwd
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tests.conftest  # noqa: F401  (before tests.pg_server, which it imports)
from bench_catalog import fill_index, page_through, paging_query, percentiles, queries
from tests.pg_server import PostgresServer, _bindir

from eostation.catalog import ItemQuery
from eostation.catalog.index import ItemIndex
from eostation.catalog.pgstac import PgstacItemIndex, migrate_pgstac
from eostation.catalog.sqlite import SqliteItemIndex


def server_in(root: Path) -> PostgresServer:
    """A PostgreSQL server whose data directory lives under ``root`` (kept between runs)."""
    bindir = _bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries are missing: apt-get install postgresql")
    server = PostgresServer(bindir)
    os.rmdir(server.root)
    server.root, server.data, server.log = root, root / "pg", root / "pg.log"
    if server._user is not None:
        entry = pwd.getpwnam(server._user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o755)
    return server


def prepare(root: Path, n: int) -> None:
    """Fill both indexes with the same ``n`` items; prints the build times."""
    root.mkdir(parents=True, exist_ok=True)
    server = server_in(root).start()
    try:
        url = server.url()
        migrate_pgstac(url)
        for name, index in (
            ("sqlite", SqliteItemIndex(root / "items.db")),
            ("pgstac", PgstacItemIndex(url)),
        ):
            t = time.perf_counter()
            fill_index(index, n)
            took = time.perf_counter() - t
            print(f"{name} build: {n:,} items in {took:.1f} s ({n / took:,.0f} items/s)")
            index.close()
    finally:
        server.stop()


def _timed(
    index: ItemIndex, qs: list[ItemQuery]
) -> tuple[list[float], list[tuple[int, list[str]]]]:
    times, answers = [], []
    for q in qs:
        t = time.perf_counter()
        page = index.search(q)
        times.append(time.perf_counter() - t)
        answers.append((page.matched or 0, [i["id"] for i in page.items]))
    return times, answers


def measure(root: Path) -> None:
    """The same searches on both indexes, answers compared, p50/p99 printed."""
    server = server_in(root).start()
    try:
        pg = PgstacItemIndex(server.url())
        lite = SqliteItemIndex(root / "items.db")
        n = lite.counts(None)["synthetic"]
        assert pg.counts(None) == {"synthetic": n}
        qs = queries(200)
        _timed(pg, qs[:10])  # warm both caches alike: the first searches read from disk
        _timed(lite, qs[:10])
        lite_times, lite_answers = _timed(lite, qs)
        pg_times, pg_answers = _timed(pg, qs)
        assert pg_answers == lite_answers, "pgstac and SQLite disagree"
        matched = sorted(m for m, _ in lite_answers)[len(qs) // 2]
        (l50, l99), (p50, p99) = percentiles(lite_times), percentiles(pg_times)
        print(f"{n:,} items; bbox+datetime search, limit 10, counted (median {matched} matches):")
        print(f"  sqlite p50 {l50:.1f} ms, p99 {l99:.1f} ms")
        print(f"  pgstac p50 {p50:.1f} ms, p99 {p99:.1f} ms (x{p50 / l50:.1f} of sqlite's p50)")
        lite_paging, lite_seen, _ = page_through(lite, paging_query(n))
        pg_paging, pg_seen, _ = page_through(pg, paging_query(n))
        assert pg_seen == lite_seen and len(set(pg_seen)) == min(10_000, n)
        print(f"paging {len(pg_seen):,} results, 1,000 a page: sqlite {lite_paging:.2f} s, "
              f"pgstac {pg_paging:.2f} s")  # fmt: skip
        pg.close()
        lite.close()
    finally:
        server.stop()


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "prepare":
        prepare(where, int(sys.argv[3]) if len(sys.argv) > 3 else 100_000)
    else:
        measure(where)
