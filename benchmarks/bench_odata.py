"""OData catalogue: search latency and ``$value`` throughput on a live server.

Run: ``.venv/bin/python benchmarks/bench_odata.py [--quick]``. Starts ``eostation serve``
on a free loopback port (``EOSTATION_ODATA__PRODUCT_MAX_PIXELS`` = ``--pixels``) and
prints:

1. Search latency (p50, p99) of ``GET /odata/v1/Products`` with CDSE-style filters
   (collection, product type, a 1°×1° ``Intersects``, a 10-day ``ContentDate`` window,
   ``$top=100``, ``$count=True``, ``$expand=Attributes``) over the demo collections
   (Sentinel-2 L2A and Sentinel-3 OLCI), against a baseline measured in the same run:
   the same searches through the STAC API (``POST /stac/v1/search``, same catalogue).
   The ratio is the cost of the OData facade (parsing, translation, entity mapping,
   ``ContentLength``, Id bookkeeping).
2. ``$value`` throughput (MB/s) of a Sentinel-2 L2A product (the ``--pixels`` window of
   its tile, all 12 bands at 10/20/60 m) and of a Sentinel-3 OLCI product: uncached
   (rendered from the demo world, written, zipped) and cached (streamed from disk),
   against reading the same cached zip straight from disk.

3. With ``--index N``: the same kind of search in-process over an items index of N
   synthetic items (``bench_catalog.synthetic_items``: ~1° footprints, 5 years, only
   ``datetime``), p50/p99 of ``ODataCatalogue.search`` (``$top=10``, ``$count``) against
   the index searched directly with the equivalent ``ItemQuery`` (bbox + datetime).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.conftest import LiveServer
from tests.odata_support import IndexCatalog

from eostation.catalog.sqlite import SqliteItemIndex

_TYPES = {
    "SENTINEL-2": ("S2MSI2A", "sentinel-2-l2a"),
    "SENTINEL-3": ("OL_1_EFR___", "sentinel-3-olci-1-efr"),
}


def _queries(
    n: int, seed: int = 7
) -> list[tuple[str, str, tuple[float, float, float, float], str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        mission = rng.choice(list(_TYPES))
        lon, lat = rng.uniform(-10, 30), rng.uniform(35, 60)
        day = rng.randrange(1, 20)
        start, end = f"2021-06-{day:02d}T00:00:00.000Z", f"2021-06-{day + 10:02d}T00:00:00.000Z"
        out.append((mission, _TYPES[mission][0], (lon, lat, lon + 1, lat + 1), start, end))
    return out


def _odata_filter(mission: str, ptype: str, bbox: tuple[float, ...], start: str, end: str) -> str:
    w, s, e, n = bbox
    poly = f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
    return (
        f"Collection/Name eq '{mission}' and Attributes/OData.CSC.StringAttribute/any("
        f"att:att/Name eq 'productType' and att/OData.CSC.StringAttribute/Value eq '{ptype}') "
        f"and ContentDate/Start gt {start} and ContentDate/Start lt {end} and "
        f"OData.CSC.Intersects(area=geography'SRID=4326;{poly}')"
    )


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def search_latency(url: str, n: int) -> None:
    odata, stac, hits = [], [], []
    with httpx.Client(timeout=120) as http:
        for mission, ptype, bbox, start, end in _queries(n):
            params = {
                "$filter": _odata_filter(mission, ptype, bbox, start, end),
                "$top": "100",
                "$count": "True",
                "$expand": "Attributes",
            }
            body = {
                "collections": [_TYPES[mission][1]],
                "bbox": list(bbox),
                "datetime": f"{start}/{end}",
                "limit": 100,
            }
            t0 = time.perf_counter()
            r = http.get(f"{url}/odata/v1/Products", params=params)
            t1 = time.perf_counter()
            s = http.post(f"{url}/stac/v1/search", json=body)
            t2 = time.perf_counter()
            r.raise_for_status()
            s.raise_for_status()
            odata.append(t1 - t0)
            stac.append(t2 - t1)
            hits.append(len(r.json()["value"]))
    (o50, o99), (s50, s99) = _percentiles(odata), _percentiles(stac)
    print(f"search: {n} queries, {statistics.mean(hits):.1f} products per page on average")
    print(f"  OData  p50 {o50 * 1e3:7.1f} ms   p99 {o99 * 1e3:7.1f} ms")
    print(f"  STAC   p50 {s50 * 1e3:7.1f} ms   p99 {s99 * 1e3:7.1f} ms   (baseline)")
    print(f"  ratio  p50 {o50 / s50:7.2f}      p99 {o99 / s99:7.2f}")


#: The products downloaded: the issue asks for S2; S3 OLCI (a swath product) for contrast.
_DOWNLOADS = {
    "SENTINEL-2": ("2021-06-01T00:00:00Z", "2021-06-15T00:00:00Z"),
    "SENTINEL-3": ("2021-06-01T00:00:00Z", "2021-06-03T00:00:00Z"),
}


def download_throughput(url: str, data_dir: Path, mission: str) -> None:
    """``$value`` of one demo product of ``mission``: uncached, cached, and the disk read."""
    start, end = _DOWNLOADS[mission]
    flt = (
        f"Collection/Name eq '{mission}' and ContentDate/Start gt {start} and "
        f"ContentDate/Start lt {end} and "
        "OData.CSC.Intersects(area=geography'SRID=4326;POINT(10.5 47.5)')"
    )
    with httpx.Client(timeout=1800) as http:
        found = http.get(f"{url}/odata/v1/Products", params={"$filter": flt}).json()["value"]
        product = found[0]
        value = f"{url}/odata/v1/Products({product['Id']})/$value"
        timings = []
        for _ in range(2):
            t0 = time.perf_counter()
            with http.stream("GET", value) as r:
                r.raise_for_status()
                size = sum(len(chunk) for chunk in r.iter_bytes(1 << 20))
            timings.append(time.perf_counter() - t0)
    cached = data_dir / "odata" / f"{product['Id']}.zip"
    t0 = time.perf_counter()
    with cached.open("rb") as f:
        while f.read(1 << 20):
            pass
    disk = time.perf_counter() - t0
    mb = size / 1e6
    print(f"$value: {product['Name']} ({mb:.1f} MB)")
    print(f"  uncached {mb / timings[0]:8.1f} MB/s  ({timings[0]:.2f} s: render, write, zip, send)")
    print(f"  cached   {mb / timings[1]:8.1f} MB/s  ({timings[1]:.2f} s)")
    print(f"  disk     {mb / disk:8.1f} MB/s  (baseline: reading the cached zip)")
    print(f"  ratio    cached/disk {disk / timings[1]:.2f}, uncached/disk {disk / timings[0]:.3f}")


class _ListedCatalog(IndexCatalog):
    """The test catalogue over the index, listing its one collection as the server's
    catalogue does (from configuration): the test version counts the items of every
    collection to list them, a full scan of the index that the server never pays."""

    def collections(self, user_id: str | None) -> list[dict[str, Any]]:
        return [{"id": "synthetic", "eostation:collection": "synthetic"}]


def _synthetic_index(path: Path, n: int) -> SqliteItemIndex:
    """The items index of ``n`` synthetic items at ``path``, built once and reused."""
    from bench_catalog import fill_index

    index = SqliteItemIndex(path)
    have = index.counts(None).get("synthetic", 0)
    if have == n:
        print(f"index: {n:,} items reused from {path}")
        return index
    # Batches are committed in order: an interrupted build resumes after its last batch.
    start = have if have < n and have % 20_000 == 0 else 0
    if not start:
        index.delete("synthetic")
    t0 = time.perf_counter()
    fill_index(index, n, start)
    print(f"index: {n:,} items built in {time.perf_counter() - t0:.0f} s at {path}")
    return index


def index_search(n: int, index_db: Path | None, count: int) -> None:
    """OData searches over an index of ``n`` synthetic items against direct index searches."""
    from bench_catalog import queries

    from eostation.catalog.odata.ids import ProductIds
    from eostation.catalog.odata.options import parse_options
    from eostation.catalog.odata.package import ProductPackages
    from eostation.catalog.odata.service import ODataCatalogue
    from eostation.catalog.query import ItemQuery
    from eostation.data.registry import build_registry
    from eostation.migrations import open_database

    with tempfile.TemporaryDirectory() as tmp:
        index = _synthetic_index(index_db or Path(tmp) / "items.db", n)
        odata = ODataCatalogue(
            _ListedCatalog(index, {}),
            ProductPackages(build_registry(None), Path(tmp) / "cache", 16),
            ProductIds(open_database(f"sqlite:///{tmp}/odata.db")),
        )
        direct, facade, found = [], [], []
        for q in queries(count):
            assert q.intersects is not None and q.datetime is not None
            w, s, e, north = q.intersects.bounds
            start, end = (d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in q.datetime if d)
            flt = (
                f"Collection/Name eq 'synthetic' and ContentDate/Start ge {start} and "
                f"ContentDate/Start le {end} and OData.CSC.Intersects(area=geography'SRID=4326;"
                f"POLYGON(({w} {s},{e} {s},{e} {north},{w} {north},{w} {s}))')"
            )
            options = parse_options([("$filter", flt), ("$top", "10"), ("$count", "true")])
            t1 = time.perf_counter()
            page = odata.search(options, None, "{id}")
            t2 = time.perf_counter()
            base = index.search(ItemQuery(collections=("synthetic",), intersects=q.intersects,
                                          datetime=q.datetime, limit=10))  # fmt: skip
            t3 = time.perf_counter()
            facade.append(t2 - t1)
            direct.append(t3 - t2)
            found.append((page.count, base.matched))
            if len(found) % 10 == 0:  # progress: a loaded machine can take long
                (f50, f99), (d50, d99) = _percentiles(facade), _percentiles(direct)
                print(f"  {len(found)} searches so far: OData p50 {f50:.2f} s p99 {f99:.2f} s,"
                      f" index p50 {d50:.2f} s p99 {d99:.2f} s", flush=True)  # fmt: skip
        (f50, f99), (d50, d99) = _percentiles(facade), _percentiles(direct)
        same = sum(a == b for a, b in found)
        print(f"index search: {count} bbox (1°) + month queries, {same}/{count} equal counts")
        print(f"  OData  p50 {f50 * 1e3:7.1f} ms   p99 {f99 * 1e3:7.1f} ms")
        print(f"  index  p50 {d50 * 1e3:7.1f} ms   p99 {d99 * 1e3:7.1f} ms   (baseline)")
        print(f"  ratio  p50 {f50 / d50:7.2f}      p99 {f99 / d99:7.2f}")
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="20 searches, 256-pixel product")
    parser.add_argument("--pixels", type=int, default=1024, help="product size per side")
    parser.add_argument("--index", type=int, default=0, help="also search N synthetic items")
    parser.add_argument(
        "--index-db", type=Path, help="keep the synthetic index here and reuse it next run"
    )
    parser.add_argument("--searches", type=int, default=200, help="index searches")
    parser.add_argument("--only-index", action="store_true", help="skip the live-server part")
    args = parser.parse_args()
    if args.index:
        index_search(args.index, args.index_db, args.searches)
    if args.only_index:
        return
    n, pixels = (20, 256) if args.quick else (200, args.pixels)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"EOSTATION_ODATA__PRODUCT_MAX_PIXELS": str(pixels)}
        server = LiveServer(Path(tmp) / "data", env=env).start()
        try:
            search_latency(server.url, n)
            for mission in _DOWNLOADS:
                download_throughput(server.url, server.data_dir, mission)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
