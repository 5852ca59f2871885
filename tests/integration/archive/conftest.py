"""Fixtures for the archive service: Connect-mapped tables for two orgs (with Connect's
trigger log simulated), a runtime, the real API on 127.0.0.1 and real worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml
from sqlalchemy import text

from archive_service.api import create_app
from archive_service.config import ArchiveOptions, Runtime
from archive_service.jobs import JobService
from archive_service.queue import Queue
from core.database import make_engine
from core.settings import Settings, parse_settings
from demo.heroku_connect import create_connect_table
from service_auth import ApiCredentials
from tests.integration.archive import connect_sim

ORGS = {"amer": "amer_sf", "emea": "emea_sf"}
OBJECTS = ("account", "contact")
API_USER, API_PASSWORD, API_TOKEN = "salesforce", "s3cret-pass", "token-for-tests"

# Fast clocks for tests: heartbeats every half second, a silent worker presumed dead
# after three, the janitor every half second.
TEST_OPTIONS = {
    "batch_size": 100,
    "heartbeat_seconds": 0.5,
    "stalled_after_seconds": 3.0,
    "janitor_interval_seconds": 0.5,
    "reconcile_interval_seconds": 1.0,
    "callback_retry_base_seconds": 1,
    "database_retry_seconds": 60.0,
}


def create_org_tables(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for schema in ORGS.values():
            for obj in OBJECTS:
                create_connect_table(
                    conn, schema, obj, extra_columns={connect_sim.EXTERNAL_ID: "varchar(36)"}
                )
                # Connect gives an External ID field a unique index (hcu_idx_…).
                conn.exec_driver_sql(
                    f"CREATE UNIQUE INDEX hcu_idx_{obj}_{connect_sim.EXTERNAL_ID} "
                    f'ON "{schema}".{obj} ({connect_sim.EXTERNAL_ID})'
                )
                connect_sim.install(conn, schema, obj)
    engine.dispose()


def settings_for(url: str) -> Settings:
    return parse_settings(
        {"database_url": url, "orgs": [{"key": k, "schema": s} for k, s in ORGS.items()]},
        source="<archive tests>",
    )


@pytest.fixture
def connect_db(database_url: str) -> str:
    """A migrated database holding two orgs' Heroku Connect tables (Connect simulated)."""
    create_org_tables(database_url)
    return database_url


@pytest.fixture
def options() -> ArchiveOptions:
    return ArchiveOptions(**TEST_OPTIONS)


@pytest.fixture
def runtime(connect_db: str, options: ArchiveOptions) -> Iterator[Runtime]:
    rt = Runtime.create(settings_for(connect_db), connect_db, options)
    yield rt
    rt.close()


@pytest.fixture
def queue(runtime: Runtime) -> Iterator[Queue]:
    q = Queue(runtime)
    yield q
    q.close()


@pytest.fixture
def service(runtime: Runtime, queue: Queue) -> JobService:
    return JobService(runtime, queue)


@pytest.fixture
def config_file(tmp_path: Path, connect_db: str) -> Path:
    path = tmp_path / "org360.yaml"
    raw = {"database_url": connect_db, "orgs": [{"key": k, "schema": s} for k, s in ORGS.items()]}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in TEST_OPTIONS.items():
        env[f"ORG360_ARCHIVE_{name.upper()}"] = str(value)
    env.update(extra or {})
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `python -m archive_service worker` processes; all are stopped at teardown."""
    started: list[subprocess.Popen] = []

    def start(config: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "archive_service", "--config", str(config), "worker"],
            env=worker_env(extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[3],
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiServer:
    def __init__(self, app, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the archive API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, **kwargs) -> httpx.Client:
        kwargs.setdefault("auth", (API_USER, API_PASSWORD))
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, **kwargs)


@pytest.fixture
def api(runtime: Runtime, queue: Queue) -> Iterator[ApiServer]:
    credentials = ApiCredentials(
        user=API_USER, password=API_PASSWORD, tokens=frozenset({API_TOKEN})
    )
    with ApiServer(create_app(runtime, credentials, queue), free_port()) as server:
        yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client() as c:
        yield c


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["status"] in ("succeeded", "partial", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not finish in {timeout}s: {body}")
        time.sleep(0.05)


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
