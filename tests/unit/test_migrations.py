"""Alembic migrations: a wave-1 database is upgraded in place, and every start is idempotent."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from eostation.db import metadata
from eostation.jobs.store import JobStore
from eostation.migrations import WAVE1_REVISION, current_revision, head_revision, open_database
from eostation.udps import UdpStore
from eostation.users import UserStore

# What `create_all` made on main before migrations (SQLite's own record of it), with one
# row per table; device_logins came with the sign-in work and has no revision of its own.
WAVE1_SQL = """
CREATE TABLE schema_version (id INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (id));
CREATE TABLE process_graphs (user_id VARCHAR(128) NOT NULL, process_id VARCHAR(256) NOT NULL,
    definition TEXT NOT NULL, updated DATETIME NOT NULL, PRIMARY KEY (user_id, process_id));
CREATE TABLE users (user_id VARCHAR(128) NOT NULL, name VARCHAR(256),
    password_hash VARCHAR(256) NOT NULL, created DATETIME NOT NULL, PRIMARY KEY (user_id));
CREATE TABLE device_logins (user_code VARCHAR(32) NOT NULL, user_id VARCHAR(128) NOT NULL,
    expires FLOAT NOT NULL, PRIMARY KEY (user_code));
CREATE TABLE jobs (id VARCHAR(64) NOT NULL, user_id VARCHAR(128) NOT NULL, title TEXT,
    description TEXT, process JSON NOT NULL, "plan" VARCHAR(64), budget FLOAT,
    log_level VARCHAR(16) NOT NULL, job_options JSON, status VARCHAR(16) NOT NULL,
    progress FLOAT, created DATETIME NOT NULL, updated DATETIME NOT NULL, queued_at DATETIME,
    started DATETIME, finished DATETIME, runner VARCHAR(256), heartbeat DATETIME,
    attempts INTEGER NOT NULL, costs FLOAT, usage JSON, result_dir TEXT, results JSON,
    result_bytes BIGINT NOT NULL, results_expired BOOLEAN NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_jobs_user_created ON jobs (user_id, created);
CREATE INDEX ix_jobs_status ON jobs (status);
CREATE INDEX ix_jobs_user_id ON jobs (user_id);
CREATE INDEX ix_jobs_status_queued ON jobs (status, queued_at);
CREATE TABLE job_logs (id INTEGER NOT NULL, job_id VARCHAR(64) NOT NULL,
    level VARCHAR(16) NOT NULL, code VARCHAR(128), message TEXT NOT NULL, time DATETIME NOT NULL,
    data JSON, path JSON, usage JSON, PRIMARY KEY (id),
    FOREIGN KEY(job_id) REFERENCES jobs (id) ON DELETE CASCADE);
CREATE INDEX ix_job_logs_job_id ON job_logs (job_id);
INSERT INTO schema_version VALUES (1, 1);
INSERT INTO process_graphs VALUES ('alice', 'ndvi', '{"id": "ndvi", "process_graph": {}}',
    '2026-05-01 10:00:00.000000');
INSERT INTO users VALUES ('alice', 'Alice', 'not-a-real-hash', '2026-05-01 09:00:00.000000');
INSERT INTO device_logins VALUES ('ABCD-EFGH', 'alice', 1900000000.0);
INSERT INTO jobs VALUES ('j-wave1', 'alice', 'old job', NULL, '{"process_graph": {}}', NULL,
    NULL, 'info', '{}', 'finished', 100.0, '2026-05-01 10:00:00.000000',
    '2026-05-01 10:05:00.000000', '2026-05-01 10:01:00.000000', '2026-05-01 10:02:00.000000',
    '2026-05-01 10:05:00.000000', 'r1', NULL, 1, 0.5, NULL, '/results/j-wave1',
    '{"out.tif": {}}', 4096, 0);
INSERT INTO job_logs VALUES (7, 'j-wave1', 'info', NULL, 'done', '2026-05-01 10:05:00.000000',
    NULL, NULL, NULL);
"""


def wave1_database(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        conn.executescript(WAVE1_SQL)
    return f"sqlite:///{path}"


def test_a_wave1_database_is_upgraded_in_place_without_losing_rows(tmp_path: Path) -> None:
    url = wave1_database(tmp_path / "eostation.db")
    engine = open_database(url)
    assert current_revision(engine) == head_revision() != WAVE1_REVISION
    tables = set(sa.inspect(engine).get_table_names())
    assert "schema_version" not in tables and {"alembic_version", "device_logins"} <= tables
    job = JobStore(engine).get("alice", "j-wave1")
    assert job.title == "old job" and job.result_bytes == 4096 and job.costs == 0.5
    assert job.results == {"out.tif": {}} and job.finished is not None
    assert job.finished.isoformat() == "2026-05-01T10:05:00+00:00"
    logs, _ = JobStore(engine).logs("j-wave1")
    assert [(e.id, e.message) for e in logs] == [(7, "done")]
    # New log entries continue the id sequence after the old ones.
    JobStore(engine).log("j-wave1", "info", "after upgrade")
    assert [e.id for e in JobStore(engine).logs("j-wave1", after=7)[0]] == [8]
    assert [u.user_id for u in UserStore(engine).list()] == ["alice"]
    assert UdpStore(engine).get("alice", "ndvi") == {"id": "ndvi", "process_graph": {}}
    with engine.connect() as conn:
        device = conn.execute(sa.text("SELECT user_id FROM device_logins")).scalar_one()
    assert device == "alice"
    engine.dispose()


def test_migrating_again_changes_nothing(database_url: str) -> None:
    engine = open_database(database_url)
    job = JobStore(engine).create("bob", {"process_graph": {}}, title="kept")
    engine.dispose()
    again = open_database(database_url)
    assert current_revision(again) == head_revision()
    assert JobStore(again).get("bob", job.id).title == "kept"
    again.dispose()


def test_the_migrated_schema_matches_the_table_declarations(database_url: str) -> None:
    # A column changed on a table without a new revision shows up here.
    engine = open_database(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_processes_starting_at_once_migrate_once(database_url: str) -> None:
    # The server and its runners open a new database at the same moment.
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        barrier.wait()
        try:
            open_database(database_url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = open_database(database_url)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert [v[0] for v in versions] == [head_revision()]
