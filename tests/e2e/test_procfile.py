"""org360 deployed as a platform runs it: every Procfile process started from its line,
against a real PostgreSQL, with a schedule that fires every minute. The daemon
launches runs by itself and they publish; the web process answers its health check
and serves the Dagster UI only to signed-in callers; a second daemon refuses to
start; SIGTERM stops every process within 30 seconds with nothing left behind, and
the archive job a stopped worker held completes on another worker."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import text
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket

from demo.heroku_connect import create_connect_table
from tests.helpers.cli import API_ENV, API_PASSWORD, API_USER, REPO, free_port
from tests.helpers.orgs import seed_demo, write_config
from tests.helpers.procfile import Formation
from tests.integration.archive import connect_sim

pytestmark = pytest.mark.slow

ARCHIVE_ORG = {"key": "arc", "schema": "arc_sf"}
ARCHIVED = 60_000


def _archive_org_tables(engine) -> None:
    """An org whose Connect tables take part in archiving (Connect simulated)."""
    with engine.begin() as conn:
        for obj in ("account", "contact"):
            create_connect_table(
                conn, "arc_sf", obj, extra_columns={connect_sim.EXTERNAL_ID: "varchar(36)"}
            )
            conn.exec_driver_sql(
                f"CREATE UNIQUE INDEX hcu_idx_{obj}_{connect_sim.EXTERNAL_ID} "
                f'ON "arc_sf".{obj} ({connect_sim.EXTERNAL_ID})'
            )
            connect_sim.install(conn, "arc_sf", obj)


def _wait_for(what: str, check, timeout: float, formation: Formation, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        for name, process in formation.running.items():
            assert process.poll() is None, f"{name} exited:\n{formation.log(name)[-3000:]}"
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f} s"
        time.sleep(interval)


def _published(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM golden.account")).scalar()


def _runs(engine) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, pipeline_name, run_body FROM dagster.runs ORDER BY create_timestamp"
            )
        ).all()
    return [(status, job, json.loads(body).get("tags", {})) for status, job, body in rows]


def test_every_procfile_process_runs_as_a_platform_runs_it(database_url, engine, tmp_path):
    seed_demo(database_url, companies=12)
    _archive_org_tables(engine)
    orgs = [*_demo_orgs(), ARCHIVE_ORG]
    config = write_config(tmp_path / "org360.yaml", database_url, orgs=orgs, schedule="* * * * *")
    port = free_port()
    env = {
        **os.environ,
        **API_ENV,
        "DATABASE_URL": database_url,
        "ORG360_CONFIG": str(config),
        "ORG360_HOME": str(tmp_path / "home"),
        "PORT": str(port),
        "ORG360_LOG_FORMAT": "json",
        # Small archive batches: the job outlasts the first worker's shutdown.
        "ORG360_ARCHIVE_BATCH_SIZE": "100",
        # A job still running one second after SIGTERM is handed back.
        "ORG360_ARCHIVE_SHUTDOWN_GRACE_SECONDS": "1",
        "ORG360_ARCHIVE_HEARTBEAT_SECONDS": "0.5",
        "ORG360_ARCHIVE_STALLED_AFTER_SECONDS": "3",
        "ORG360_ARCHIVE_JANITOR_INTERVAL_SECONDS": "0.5",
    }
    formation = Formation(env, tmp_path / "logs")
    base = f"http://127.0.0.1:{port}"
    auth = (API_USER, API_PASSWORD)
    try:
        release = formation.release()
        assert release.returncode == 0, release.stderr
        for name in ("web", "worker", "scheduler"):
            formation.start(name)

        # One daemon per deployment: a second one refuses, naming the first.
        _wait_for("the daemon's lock", lambda: _daemon_holds_lock(engine), 60, formation)
        second = subprocess.run(
            [sys.executable, "-m", "app.cli", "daemon"],
            env=formation.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert "another org360 daemon already runs against this database" in second.stderr
        assert "Traceback" not in second.stderr

        # Nobody runs anything: the schedule's tick stages every org, automation
        # consolidates, and the golden records are published.
        _wait_for("a publication", lambda: _published(engine), 240, formation, interval=2)
        automation = "consolidation_automation_sensor"

        def consolidated() -> list[str]:
            return [s for s, _, t in _runs(engine) if t.get("dagster/sensor_name") == automation]

        # The run goes on after publishing (the golden-id write-back): wait for its end.
        _wait_for(
            "the consolidation run's success",
            lambda: "SUCCESS" in consolidated(),
            120,
            formation,
            interval=2,
        )
        runs = _runs(engine)
        scheduled = [t for _, job, t in runs if job == "staging_job"]
        assert scheduled and all(t.get("dagster/schedule_name") for t in scheduled)

        # The health check needs no credentials and tells nothing secret.
        health = httpx.get(base + "/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "database": "ok", "migrations": "current"}
        assert health.headers["x-request-id"]
        assert "postgres" not in health.text.lower()

        # The Dagster UI only behind sign-in, web sockets included.
        assert httpx.get(base + "/dagster/", timeout=10).status_code == 401
        assert httpx.get(base + "/dagster/", auth=("x", "y"), timeout=10).status_code == 401
        page = httpx.get(base + "/dagster/", auth=auth, timeout=30)
        assert page.status_code == 200 and "Dagster" in page.text
        graphql = httpx.post(
            base + "/dagster/graphql",
            json={"query": "{runsOrError {... on Runs {results {jobName status}}}}"},
            auth=auth,
            timeout=30,
        )
        assert graphql.status_code == 200
        statuses = {r["status"] for r in graphql.json()["data"]["runsOrError"]["results"]}
        assert "SUCCESS" in statuses
        with pytest.raises(InvalidStatus) as refused:
            websocket(f"ws://127.0.0.1:{port}/dagster/graphql", subprotocols=["graphql-ws"])
        assert refused.value.response.status_code == 403
        basic = "Basic " + base64.b64encode(f"{API_USER}:{API_PASSWORD}".encode()).decode()
        with websocket(
            f"ws://127.0.0.1:{port}/dagster/graphql",
            subprotocols=["graphql-ws"],
            additional_headers={"Authorization": basic},
        ) as socket:
            assert socket.subprotocol == "graphql-ws"
        # People signed in to the web app: an admin opens the Dagster UI, a steward not.
        for email, role in (("admin@example.com", "admin"), ("steward@example.com", "steward")):
            added = subprocess.run(
                [sys.executable, "-m", "app.cli", "users", "add", email, "--role", role],
                input=PASSWORD + "\n",
                env=formation.env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert added.returncode == 0, added.stderr
        assert _dagster_with_session(base, "admin@example.com") == 200
        assert _dagster_with_session(base, "steward@example.com") == 401
        traced = httpx.get(base + "/healthz", headers={"X-Request-ID": "trace-42"}, timeout=10)
        assert traced.headers["x-request-id"] == "trace-42"

        # The scheduler stops within 30 s, its daemon, code server and runs with it;
        # a run it held is handed back (failed, to be retried), not left "started".
        stopped = formation.stop("scheduler")
        assert stopped.seconds < 30 and stopped.returncode == 0, formation.log("scheduler")[-3000:]
        assert not stopped.survivors and not stopped.group_left
        assert not [r for r in _runs(engine) if r[0] in ("STARTING", "STARTED")]

        # An archive job held by a worker that is told to stop completes on another.
        with engine.begin() as conn:
            sfids = connect_sim.sync_from_salesforce(conn, "arc_sf", "contact", ARCHIVED)
        submitted = httpx.post(
            base + "/api/v1/archive",
            json={"org": "arc", "object": "contact", "sfids": sfids},
            auth=auth,
            timeout=60,
        )
        assert submitted.status_code == 202, submitted.text
        job_url = base + submitted.headers["location"]
        _wait_for(
            "the first worker's progress",
            lambda: httpx.get(job_url, auth=auth, timeout=10).json()["processed"] > 0,
            60,
            formation,
            interval=0.05,
        )
        stopped = formation.stop("worker")
        assert stopped.seconds < 30 and stopped.returncode == 0, formation.log("worker")[-3000:]
        assert not stopped.survivors and not stopped.group_left
        held = httpx.get(job_url, auth=auth, timeout=10).json()
        assert held["processed"] < ARCHIVED, "the job ended before the worker was stopped"
        formation.start("worker", as_name="worker.2")
        done = _wait_for(
            "the job on the second worker",
            lambda: (
                (j := httpx.get(job_url, auth=auth, timeout=10).json())["status"]
                in ("succeeded", "partial", "failed")
                and j
            ),
            180,
            formation,
            interval=0.5,
        )
        assert done["status"] == "succeeded" and done["counts"]["archived"] == ARCHIVED, done
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM arc_sf.contact")).scalar() == 0
            archived = conn.execute(text("SELECT count(*) FROM archive.arc_contact")).scalar()
        assert archived == ARCHIVED

        # A request in flight when the web process is told to stop is answered: its
        # body is still arriving when SIGTERM does.
        body_started = threading.Event()

        def slow_body():
            yield b'{"org": "arc", "object": "contact", '
            body_started.set()
            time.sleep(2)
            yield b'"sfids": ["not an sfid"]}'

        answers: list[httpx.Response] = []
        in_flight = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    base + "/api/v1/archive",
                    content=slow_body(),
                    headers={"Content-Type": "application/json"},
                    auth=auth,
                    timeout=30,
                )
            )
        )
        in_flight.start()
        assert body_started.wait(10)
        stops: list = []
        stopping = threading.Thread(target=lambda: stops.append(formation.stop("web")))
        stopping.start()
        in_flight.join(30)
        stopping.join(40)
        (answered,), (stopped,) = answers, stops
        assert answered.status_code == 422 and "sfid" in answered.text
        assert stopped.seconds < 30 and stopped.returncode == 0, formation.log("web")[-3000:]
        assert not stopped.survivors and not stopped.group_left

        stopped = formation.stop("worker.2")
        assert stopped.seconds < 30 and stopped.returncode == 0, formation.log("worker.2")[-3000:]
        assert not stopped.survivors and not stopped.group_left
        with pytest.raises(httpx.TransportError):  # the port is free again
            httpx.get(base + "/healthz", timeout=2)

        # Every line the web process and the workers wrote is one JSON event; the
        # traced request's line carries its id.
        for name in ("web", "worker", "worker.2"):
            lines = formation.log(name).splitlines()
            not_json = [line for line in lines if not _is_json_object(line)]
            assert not not_json, f"{name} wrote lines that are not events:\n" + "\n".join(not_json)
            events = [json.loads(line) for line in lines]
            assert events and all({"timestamp", "level", "event"} <= e.keys() for e in events)
        traced_lines = [
            e
            for e in map(json.loads, formation.log("web").splitlines())
            if e.get("request_id") == "trace-42"
        ]
        assert traced_lines and traced_lines[0]["path"] == "/healthz"
    finally:
        formation.stop_all()


PASSWORD = "a-long-enough-password"


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _dagster_with_session(base: str, email: str) -> int:
    """The status of /dagster/ for a person signed in to the web app."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/app/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        signed = client.post(
            "/app/login",
            data={"csrf": csrf, "email": email, "password": PASSWORD, "next": "/app/"},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        return client.get("/dagster/").status_code


def _demo_orgs() -> list[dict]:
    from demo.seed import DEMO_ORGS

    return [dict(org) for org in DEMO_ORGS]


def _daemon_holds_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'org360 daemon %'"
                )
            ).scalar()
        )
