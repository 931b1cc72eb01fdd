"""Items index benchmarks: 1,000,000 synthetic items through the index interface, and the
demo world's computed items.

Measures index build time and on-disk size, bbox+datetime search latency (p50, p99;
limit 10, with ``numberMatched``), and paging through 10,000 results (1,000 a page),
each against a baseline in the same run: the same table without the R-tree, every
query a scan of the time/bbox columns. Targets: p50 < 50 ms, 10,000 results paged in
< 3 s.

Run: ``python benchmarks/bench_catalog.py [items]`` (default 1,000,000; ~1 GB on disk).
"""

from __future__ import annotations

import itertools
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import box

from eostation.catalog import ItemQuery
from eostation.catalog.index import ItemIndex
from eostation.catalog.service import CatalogService
from eostation.catalog.sqlite import SqliteItemIndex
from eostation.data.demo import demo_sources

T0 = datetime(2019, 1, 1, tzinfo=UTC)
DAYS = 5 * 365


def synthetic_items(n: int, seed: int = 1) -> Any:
    """S2-like items: ~1° footprints over the land masses of a 5-year archive."""
    rng = random.Random(seed)
    for i in range(n):
        w, s = rng.uniform(-20, 40), rng.uniform(30, 70)
        when = T0 + timedelta(days=rng.randrange(DAYS), seconds=rng.randrange(86_400))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        yield {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": f"item-{i:07d}",
            "collection": "synthetic",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, s], [w + 1.4, s], [w + 1.4, s + 1], [w, s + 1], [w, s]]],
            },
            "bbox": [w, s, w + 1.4, s + 1],
            "properties": {
                "datetime": stamp,
                "eo:cloud_cover": round(rng.uniform(0, 100), 2),
                "platform": rng.choice(["sentinel-2a", "sentinel-2b"]),
            },
            "links": [],
            "assets": {"B04": {"href": f"/files/{i}/B04.tif", "type": "image/tiff"}},
        }


def fill_index(index: ItemIndex, n: int, start: int = 0) -> None:
    """Upsert ``synthetic_items(n)`` from the ``start``-th on, in batches of 20,000."""
    batch: list[dict[str, Any]] = []
    for item in itertools.islice(synthetic_items(n), start, None):
        batch.append(item)
        if len(batch) == 20_000:
            index.upsert(batch)
            batch = []
    index.upsert(batch)


def queries(count: int, seed: int = 2) -> list[ItemQuery]:
    """bbox (1°) + datetime (one month) searches, 10 results and the count."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        w, s = rng.uniform(-15, 35), rng.uniform(35, 65)
        start = T0 + timedelta(days=rng.randrange(DAYS - 31))
        out.append(
            ItemQuery(
                intersects=box(w, s, w + 1, s + 1), datetime=(start, start + timedelta(days=31))
            )
        )
    return out


def percentiles(times: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(times)
    return (
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    )


def paging_query(n: int) -> ItemQuery:
    """A wide search with about 12,000 matches among ``n`` items, 1,000 a page."""
    return ItemQuery(
        intersects=box(-20, 30, 40, 70),
        datetime=(T0, T0 + timedelta(days=int(DAYS * 12_000 / n) + 1)),
        limit=1000,
    )


def page_through(index: ItemIndex, wide: ItemQuery) -> tuple[float, list[str], int | None]:
    """Seconds to read the first 10,000 results page by page, their ids, the match count."""
    t = time.perf_counter()
    seen: list[str] = []
    total = None
    for offset in range(0, 10_000, 1000):
        page = index.search(ItemQuery(**{**wide.__dict__, "offset": offset}))
        total = page.matched
        seen += [i["id"] for i in page.items]
    return time.perf_counter() - t, seen, total


def scan_baseline(path: Path, query: ItemQuery, limit: int, offset: int) -> tuple[list[str], int]:
    """The same search without the R-tree: a scan over bbox/time columns of the items table."""
    db = sqlite3.connect(path)
    assert query.intersects is not None and query.datetime is not None
    w, s, e, n = query.intersects.bounds
    lo, hi = query.datetime
    assert lo is not None and hi is not None
    rows = db.execute(
        "SELECT i.id FROM items i JOIN items_rtree_copy r ON r.id = i.rowid "
        "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ? "
        "AND i.t0 <= ? AND i.t1 >= ? ORDER BY i.dt DESC, i.id",
        (e, w, n, s, hi.timestamp(), lo.timestamp()),
    ).fetchall()
    db.close()
    return [r[0] for r in rows[offset : offset + limit]], len(rows)


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    path = tmp / "items.db"
    index = SqliteItemIndex(path)
    started = time.perf_counter()
    fill_index(index, n)
    build = time.perf_counter() - started
    size = sum(p.stat().st_size for p in tmp.iterdir())
    print(f"index build: {n:,} items in {build:.1f} s ({n / build:,.0f} items/s), "
          f"{size / 1e9:.2f} GB on disk ({size / n:.0f} B/item)")  # fmt: skip

    # Baseline table: the bbox columns as a plain table (no R-tree), same rows.
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items_rtree_copy AS SELECT * FROM items_rtree")
    db.commit()
    db.close()

    qs = queries(200)
    times, matched = [], []
    for q in qs:
        t = time.perf_counter()
        page = index.search(q)
        times.append(time.perf_counter() - t)
        matched.append(page.matched or 0)
    p50, p99 = percentiles(times)
    base = []
    for q in qs[:20]:
        t = time.perf_counter()
        scan_baseline(path, q, 10, 0)
        base.append(time.perf_counter() - t)
    b50, _ = percentiles(base)
    print(f"bbox+datetime search (limit 10, counted; median {statistics.median(matched):.0f} "
          f"matches): p50 {p50:.1f} ms, p99 {p99:.1f} ms; scan baseline p50 {b50:.1f} ms "
          f"(x{b50 / p50:.1f})")  # fmt: skip

    wide = paging_query(n)
    paging, seen, total = page_through(index, wide)
    t = time.perf_counter()
    for offset in range(0, 10_000, 1000):
        scan_baseline(path, wide, 1000, offset)
    base_paging = time.perf_counter() - t
    print(f"paging 10,000 of {total:,} results (1,000 a page): {paging:.2f} s "
          f"({len(set(seen)):,} distinct); scan baseline {base_paging:.2f} s")  # fmt: skip
    index.close()
    shutil.rmtree(tmp)

    # The demo world's computed items.
    catalog = CatalogService(demo_sources(), SqliteItemIndex(":memory:"))
    rng = random.Random(3)
    times = []
    for _ in range(30):
        w, s = rng.uniform(-10, 30), rng.uniform(35, 60)
        start = datetime(2022, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(300))
        q = ItemQuery(collections=("sentinel-2-l2a",), intersects=box(w, s, w + 1, s + 1),
                      datetime=(start, start + timedelta(days=31)))  # fmt: skip
        t = time.perf_counter()
        catalog.search(q)
        times.append(time.perf_counter() - t)
    p50, p99 = percentiles(times)
    print(f"demo sentinel-2-l2a, 1° bbox + one month: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    q = ItemQuery(collections=("sentinel-2-l2a",), intersects=box(3, 49, 7, 52),
                  datetime=(datetime(2021, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)),
                  limit=1000)  # fmt: skip
    t = time.perf_counter()
    seen = []
    for offset in range(0, 10_000, 1000):
        page = catalog.search(ItemQuery(**{**q.__dict__, "offset": offset}))
        seen += [i["id"] for i in page.items]
    print(f"demo paging 10,000 of {page.matched:,} computed items: "
          f"{time.perf_counter() - t:.2f} s ({len(set(seen)):,} distinct)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
