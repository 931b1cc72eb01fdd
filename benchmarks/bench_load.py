"""Load: 10 users submit and start 1,000 jobs in a burst through 2 API replicas.

Run: ``.venv/bin/python benchmarks/bench_load.py [--jobs 1000] [--db sqlite,postgresql]``.
Loopback only, bounded (``--timeout`` per database). For each database it starts two
``eostation serve --no-runners`` replicas and three ``eostation worker`` runners on one
database (a SQLite file; PostgreSQL from the distribution's binaries, as the tests start
it), with ``EOSTATION_CONCURRENT_JOBS=1`` so that the per-user limit binds (three runners
could otherwise run three jobs of one user). Ten users, each in a thread, create and start
their share of the jobs alternating between the replicas, honouring ``Retry-After`` when
a rate limit answers 429; ten more threads poll job status on both replicas meanwhile.
A monitor samples the database every 50 ms for running jobs per user.

Reported per database: jobs lost (created but missing or not finished) and duplicated (run
more than once), the most jobs one user had running at once (limit 1), 429 answers and
whether each carried ``Retry-After`` (and, after the burst, one user creating jobs on one
replica as fast as it can until the per-user limit answers 429), job creation (each
accepted request; and with the waits after 429 answers) and status-poll p50/p99 during
the burst (target p99 < 100 ms), ``GET /.well-known/openeo``
(no authentication, no database: the cheapest request) polled during the same burst and
the ratio of the two p99s (a fair figure on a shared, loaded machine), and the same
baseline on the idle replica before the burst.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_jobs import TINY, baseline, percentile
from tests.conftest import LiveServer

API = "/openeo/1.2"
USERS = 10
RUNNERS = 3
# Below uvicorn's 5 s keep-alive: on a loaded machine a client otherwise reused a connection
# the server was closing at that moment ("connection reset by peer" ended a user's thread).
KEEPALIVE = httpx.Limits(keepalive_expiry=2.0)


@contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    """A SQLite file or a database on a PostgreSQL server of our own."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'shared.db'}"
        return
    from tests.pg_server import PostgresServer, _bindir

    bindir = _bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries are missing: apt-get install postgresql")
    server = PostgresServer(bindir).start()
    try:
        yield server.create_database()
    finally:
        server.remove()


def ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
    }


class Burst:
    """The users, the pollers and the monitor of one run."""

    def __init__(self, urls: list[str], tokens: dict[str, str], jobs: int, db_url: str) -> None:
        self.urls = urls
        self.tokens = tokens
        self.per_user = jobs // len(tokens)
        self.engine = sa.create_engine(db_url)
        self.created: dict[str, list[str]] = {u: [] for u in tokens}
        self.create_s: list[float] = []
        self.create_waited_s: list[float] = []
        self.poll_s: list[float] = []
        self.cheap_s: list[float] = []
        self.limited = 0
        self.limited_without_retry_after = 0
        self.max_running = 0
        self.lock = threading.Lock()
        self.submitting = threading.Event()

    def _send(
        self, http: httpx.Client, method: str, url: str, **kw: Any
    ) -> tuple[httpx.Response, float]:
        """The answer, and how long its request took (waits after a 429 not counted)."""
        while True:
            t0 = time.perf_counter()
            response = http.request(method, url, **kw)
            elapsed = time.perf_counter() - t0
            if response.status_code != 429:
                response.raise_for_status()
                return response, elapsed
            with self.lock:
                self.limited += 1
                if "Retry-After" not in response.headers:
                    self.limited_without_retry_after += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def user(self, user: str) -> None:
        headers = {"Authorization": f"Bearer basic//{self.tokens[user]}"}
        clients = [
            httpx.Client(base_url=u, headers=headers, timeout=60, limits=KEEPALIVE)
            for u in self.urls
        ]
        for i in range(self.per_user):
            http = clients[i % len(clients)]
            t0 = time.perf_counter()
            response, elapsed = self._send(http, "POST", API + "/jobs", json=TINY)
            waited = time.perf_counter() - t0
            job_id = response.headers["OpenEO-Identifier"]
            self._send(clients[(i + 1) % len(clients)], "POST", f"{API}/jobs/{job_id}/results")
            with self.lock:
                self.create_s.append(elapsed)
                self.create_waited_s.append(waited)
                self.created[user].append(job_id)

    def poller(self, user: str) -> None:
        headers = {"Authorization": f"Bearer basic//{self.tokens[user]}"}
        clients = [
            httpx.Client(base_url=u, headers=headers, timeout=60, limits=KEEPALIVE)
            for u in self.urls
        ]
        i = 0
        while self.submitting.is_set():
            ids = self.created[user]
            if not ids:
                time.sleep(0.01)
                continue
            t0 = time.perf_counter()
            clients[i % len(clients)].get(f"{API}/jobs/{ids[-1 - i % len(ids)]}").raise_for_status()
            with self.lock:
                self.poll_s.append(time.perf_counter() - t0)
            i += 1
            time.sleep(0.02)

    def cheap(self) -> None:
        """The cheapest request (no auth, no database) on both replicas, during the burst."""
        clients = [httpx.Client(base_url=u, timeout=60, limits=KEEPALIVE) for u in self.urls]
        i = 0
        while self.submitting.is_set():
            t0 = time.perf_counter()
            clients[i % len(clients)].get("/.well-known/openeo").raise_for_status()
            with self.lock:
                self.cheap_s.append(time.perf_counter() - t0)
            i += 1
            time.sleep(0.02)

    def monitor(self, stop: threading.Event) -> None:
        query = sa.text(
            "SELECT user_id, count(*) FROM jobs WHERE status = 'running' GROUP BY user_id"
        )
        while not stop.is_set():
            try:
                with self.engine.connect() as conn:
                    counts = [int(n) for _, n in conn.execute(query)]
                self.max_running = max([self.max_running, *counts])
            except sa.exc.OperationalError:
                pass  # SQLite busy: sample again
            stop.wait(0.05)

    def run(self, timeout: float) -> dict[str, Any]:
        stop = threading.Event()
        watcher = threading.Thread(target=self.monitor, args=(stop,), daemon=True)
        watcher.start()
        self.submitting.set()
        pollers = [threading.Thread(target=self.poller, args=(u,)) for u in self.tokens]
        pollers.append(threading.Thread(target=self.cheap))
        users = [threading.Thread(target=self.user, args=(u,)) for u in self.tokens]
        t0 = time.perf_counter()
        for t in pollers + users:
            t.start()
        for t in users:
            t.join()
        burst = time.perf_counter() - t0
        self.submitting.clear()
        for t in pollers:
            t.join()
        deadline = time.monotonic() + timeout
        rows: list[Any] = []
        expected = {j for ids in self.created.values() for j in ids}
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                rows = list(conn.execute(sa.text("SELECT id, user_id, status, attempts FROM jobs")))
            if sum(r.status in ("finished", "error") for r in rows) >= len(expected):
                break
            time.sleep(1)
        drained = time.perf_counter() - t0
        stop.set()
        watcher.join()
        by_id = {r.id: r for r in rows}
        return {
            "jobs_created": len(expected),
            "ids_unique": len(expected) == sum(len(v) for v in self.created.values()),
            "lost": sum(1 for j in expected if j not in by_id or by_id[j].status != "finished"),
            "errors": sum(1 for r in rows if r.status == "error"),
            "duplicated_runs": sum(1 for r in rows if r.attempts > 1),
            "max_running_per_user": self.max_running,
            "rate_limited_429": self.limited,
            "429_without_retry_after": self.limited_without_retry_after,
            "burst_seconds": round(burst, 1),
            "all_done_seconds": round(drained, 1),
            "job_creation": ms(self.create_s),
            "job_creation_with_429_waits": ms(self.create_waited_s),
            "status_poll_during_burst": ms(self.poll_s),
            "well_known_during_burst": ms(self.cheap_s),
            "poll_p99_over_well_known_p99": round(
                percentile(self.poll_s, 99) / percentile(self.cheap_s, 99), 2
            ),
            "load_1min_after_burst": os.getloadavg()[0],
        }


def rate_limit_probe(url: str, token: str, tries: int = 400) -> dict[str, Any]:
    """One user creating jobs on one replica as fast as it can, until the first 429."""
    headers = {"Authorization": f"Bearer basic//{token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for accepted in range(tries):
            response = http.post(API + "/jobs", json=TINY)
            if response.status_code == 429:
                return {
                    "accepted_before_429": accepted,
                    "code": response.json()["code"],
                    "retry_after": response.headers.get("Retry-After"),
                }
            response.raise_for_status()
    return {"accepted_before_429": tries, "code": None, "retry_after": None}


def one_database(kind: str, jobs: int, timeout: float, runner_nice: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as db_url:
        root = Path(tmp)
        env = {
            "EOSTATION_DATABASE_URL": db_url,
            "EOSTATION_SECRET_KEY": "bench",
            "EOSTATION_CONCURRENT_JOBS": "1",
            "EOSTATION_JOBS__POLL_SECONDS": "0.05",
            "EOSTATION_DASK_WORKERS": "0",
            "EOSTATION_JOBS__RUNNER_NICE": str(runner_nice),
        }
        from eostation.migrations import open_database
        from eostation.users import UserStore

        engine = open_database(db_url)
        users = UserStore(engine)
        for i in range(USERS):
            users.add(f"user{i}", f"password-{i}")
        engine.dispose()
        replicas = [
            LiveServer(root / name, env=env, args=("--no-runners",)).start() for name in "ab"
        ]
        runners = [
            subprocess.Popen(
                [sys.executable, "-m", "eostation", "worker", "--data-dir", str(root / f"w{i}")],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(RUNNERS)
        ]
        try:
            tokens = {}
            for i in range(USERS):
                response = httpx.get(
                    replicas[0].url + API + "/credentials/basic",
                    auth=(f"user{i}", f"password-{i}"),
                    timeout=60,
                )
                tokens[f"user{i}"] = response.json()["access_token"]
            with httpx.Client(base_url=replicas[1].url, timeout=30) as http:
                base = baseline(http)
            report = Burst([r.url for r in replicas], tokens, jobs, db_url).run(timeout)
            report["baseline_well_known"] = ms(base)
            report["rate_limit_probe"] = rate_limit_probe(replicas[0].url, tokens["user0"])
            return report
        finally:
            for p in runners:
                p.terminate()
            for p in runners:
                p.wait(30)
            for r in replicas:
                r.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to drain the queue")
    parser.add_argument(
        "--runner-nice", type=int, default=10, help="EOSTATION_JOBS__RUNNER_NICE (0: off)"
    )
    args = parser.parse_args()
    report = {
        "machine_load_1min": os.getloadavg()[0],
        "runner_nice": args.runner_nice,
        **{
            kind: one_database(kind, args.jobs, args.timeout, args.runner_nice)
            for kind in args.db.split(",")
        },
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
