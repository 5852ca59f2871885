"""Real worker processes: jobs end to end, a worker killed mid-job, two workers on one
job, and archive and unarchive of the same records at once."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from archive_service.queue import RUN_JOB
from archive_service.runner import JobRunner
from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import free_port, wait_for_job
from tests.integration.archive.invariants import (
    assert_connect_got_one_entry_per_move,
    assert_each_record_in_exactly_one_place,
)

pytestmark = pytest.mark.slow


class CallbackReceiver:
    """A Salesforce-side endpoint that fails its first call, then accepts."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(json.loads(body))
                self.send_response(500 if len(receiver.received) == 1 else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/archive/done"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_job_runs_end_to_end_and_the_callback_is_retried_until_delivered(
    client, runtime, config_file, start_worker
):
    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "account", 300)
    start_worker(config_file)
    with CallbackReceiver() as receiver:
        response = client.post(
            "/api/v1/archive",
            json={
                "org": "amer",
                "object": "account",
                "sfids": sfids,
                "callback_url": receiver.url,
                "requested_by": "jane@example.com",
            },
        )
        job = wait_for_job(client, response.json()["job_id"])
        deadline = time.monotonic() + 20
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert job["status"] == "succeeded" and job["counts"]["archived"] == 300
    assert len(receiver.received) == 2
    assert receiver.received[-1]["job_id"] == job["job_id"]
    assert receiver.received[-1]["counts"]["archived"] == 300
    final = client.get(f"/api/v1/jobs/{job['job_id']}").json()
    assert final["callback"]["status"] == "delivered" and final["callback"]["attempts"] == 2
    with runtime.engine.connect() as conn:
        by = conn.execute(text("SELECT DISTINCT archived_by FROM archive.amer_account")).scalars()
        assert list(by) == ["jane@example.com"]


def test_a_worker_killed_mid_job_leaves_nothing_lost_or_duplicated(
    client, runtime, config_file, start_worker
):
    total = 50_000
    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", total)
    env = {"ORG360_ARCHIVE_BATCH_SIZE": "1000"}
    first = start_worker(config_file, env)
    response = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": sfids}
    )
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 60
    while True:
        progress = client.get(f"/api/v1/jobs/{job_id}").json()
        if progress["processed"] >= 3000:
            break
        assert time.monotonic() < deadline, progress
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = client.get(f"/api/v1/jobs/{job_id}").json()
    assert killed_at["status"] == "running" and killed_at["processed"] < total

    start_worker(config_file, env)
    job = wait_for_job(client, job_id, timeout=120)

    assert job["status"] == "succeeded", job
    assert job["processed"] == total and job["counts"]["archived"] == total
    engine = runtime.engine
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM amer_sf.contact")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM archive.amer_contact")).scalar() == total
        settled = conn.execute(
            text(
                "SELECT outcome, count(*) FROM archive.job_record "
                "WHERE job_id = :j GROUP BY outcome"
            ),
            {"j": job_id},
        ).all()
    assert settled == [("archived", total)]
    assert_each_record_in_exactly_one_place(engine, "amer_sf", "contact", "amer", sfids)
    assert_connect_got_one_entry_per_move(engine, "amer_sf", "contact")


def test_two_workers_running_the_same_job_split_it_without_double_work(
    client, runtime, queue, config_file, start_worker
):
    total = 20_000
    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "emea_sf", "account", total, org_tag="1")
    env = {"ORG360_ARCHIVE_BATCH_SIZE": "250"}
    response = client.post(
        "/api/v1/archive", json={"org": "emea", "object": "account", "sfids": sfids}
    )
    job_id = response.json()["job_id"]
    # A second run of the same job, as when a slow worker's job is presumed stalled.
    queue.app.configure_task(RUN_JOB).defer(job_id=job_id)
    start_worker(config_file, env)
    start_worker(config_file, env)
    job = wait_for_job(client, job_id, timeout=120)

    assert job["status"] == "succeeded" and job["counts"]["archived"] == total
    assert job["processed"] == total
    with runtime.engine.connect() as conn:
        runs = conn.execute(
            text("SELECT status, worker_id FROM procrastinate_jobs WHERE args->>'job_id' = :j"),
            {"j": job_id},
        ).all()
    assert len(runs) == 2
    assert_each_record_in_exactly_one_place(runtime.engine, "emea_sf", "account", "emea", sfids)
    assert_connect_got_one_entry_per_move(runtime.engine, "emea_sf", "account")


def test_archive_and_unarchive_of_the_same_records_at_once(
    client, runtime, service, config_file, start_worker
):
    total = 4000
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", total)
    # Half are archived already (and Connect has deleted them in Salesforce).
    from archive_service.models import JobRequest

    earlier = service.submit(
        "archive", JobRequest(org="amer", object="contact", sfids=sfids[: total // 2])
    ).job_id
    JobRunner(runtime).run(earlier)
    with engine.begin() as conn:
        connect_sim.process_log(conn, "amer_sf", "contact")

    env = {"ORG360_ARCHIVE_BATCH_SIZE": "100"}
    start_worker(config_file, env)
    start_worker(config_file, env)
    body = {"org": "amer", "object": "contact", "sfids": sfids}
    with ThreadPoolExecutor(2) as pool:
        posts = [
            pool.submit(client.post, f"/api/v1/{kind}", json=body)
            for kind in ("archive", "unarchive")
        ]
        archive_id, unarchive_id = (p.result().json()["job_id"] for p in posts)
    archive_job = wait_for_job(client, archive_id, timeout=120)
    unarchive_job = wait_for_job(client, unarchive_id, timeout=120)

    for job in (archive_job, unarchive_job):
        assert job["status"] in ("succeeded", "partial")
        assert job["processed"] == total and sum(job["counts"].values()) == total
    assert_each_record_in_exactly_one_place(engine, "amer_sf", "contact", "amer", sfids)
    assert_connect_got_one_entry_per_move(engine, "amer_sf", "contact")
    # Only the archive job takes live records out, so it archives exactly the live half;
    # the other half it finds archived, or already restored by the unarchive job.
    half = total // 2
    assert archive_job["counts"]["archived"] == half
    assert archive_job["counts"]["already_archived"] + archive_job["counts"]["not_found"] == half
    # The unarchive job restores the earlier half, and whatever of the live half the
    # archive job had archived by the time it got to them; the rest it finds live.
    restored = unarchive_job["counts"]["unarchived"]
    assert half <= restored <= total
    assert unarchive_job["counts"]["not_archived"] == total - restored


def test_a_ten_record_job_completes_within_a_second(client, runtime, config_file, start_worker):
    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 10)
    start_worker(config_file)
    # Warm up: the worker has connected and the archive table exists.
    warm = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": sfids[:1]}
    )
    wait_for_job(client, warm.json()["job_id"], timeout=30)
    started = time.monotonic()
    response = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": sfids[1:]}
    )
    job = wait_for_job(client, response.json()["job_id"], timeout=30)
    elapsed = time.monotonic() - started
    assert job["status"] == "succeeded"
    assert elapsed < 1.0, f"10-record job took {elapsed:.2f}s"
