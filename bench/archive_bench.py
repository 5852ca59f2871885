"""Archive service benchmark: throughput of archive and unarchive, and small-job latency.

    .venv/bin/python bench/archive_bench.py [--records 100000] [--latency-runs 20]

Runs the real thing: a fresh database (on $DATABASE_URL's server, else the embedded
one), a Heroku Connect-shaped contact table with Connect's trigger log simulated (every
archived or restored row is logged as Connect would log it), `python -m archive_service
serve` and one `python -m archive_service worker` as separate processes, and HTTP
between them. Targets: archive >= 5,000 records/s; a 10-record job completes (POST to
status `succeeded`) within 1 s. Results are printed and written to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import warehouse_sql  # noqa: E402
from core.database import make_engine, resolve_database_url  # noqa: E402
from demo.heroku_connect import create_connect_table  # noqa: E402
from tests.integration.archive import connect_sim  # noqa: E402

SCHEMA, ORG = "bench_sf", "bench"
USER, PASSWORD = "bench", "bench-password"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=None, help="worker batch size")
    parser.add_argument(
        "--no-connect-triggers",
        action="store_true",
        help="leave out the simulated Connect triggers (measures org360 alone)",
    )
    args = parser.parse_args()

    admin_url = resolve_database_url()
    name = f"org360_archive_bench_{uuid.uuid4().hex[:8]}"
    url = _create_database(admin_url, name)
    workdir = Path(tempfile.mkdtemp(prefix="org360-archive-bench-"))
    processes: list[subprocess.Popen] = []
    succeeded = False
    try:
        engine = make_engine(url)
        warehouse_sql.migrate(engine)
        sfids = _seed(engine, args.records, triggers=not args.no_connect_triggers)
        config = workdir / "org360.yaml"
        config.write_text(
            yaml.safe_dump({"database_url": url, "orgs": [{"key": ORG, "schema": SCHEMA}]})
        )
        env = dict(os.environ, ORG360_API_USER=USER, ORG360_API_PASSWORD=PASSWORD)
        if args.batch_size:
            env["ORG360_ARCHIVE_BATCH_SIZE"] = str(args.batch_size)
        port = _free_port()
        processes.append(_start(["serve", "--port", str(port)], config, env, workdir / "api.log"))
        processes.append(_start(["worker"], config, env, workdir / "worker.log"))
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", auth=(USER, PASSWORD), timeout=120
        )
        _wait_until_up(client)
        _warm_up(client, engine)

        results: dict[str, object] = {
            "records": args.records,
            "connect_triggers": not args.no_connect_triggers,
            "cpu_count": os.cpu_count(),
        }
        body = {"org": ORG, "object": "contact", "sfids": sfids}
        results["archive"] = _throughput(client, engine, "archive", body, args.records)
        _check(engine, live=0, archived=args.records)
        results["unarchive"] = _throughput(client, engine, "unarchive", body, args.records)
        _check(engine, live=args.records, archived=args.records)

        # Fresh rows for the latency runs (the restored ones have no sfid until Connect syncs).
        latency_ids = _more(engine, 10 * args.latency_runs, start=args.records)
        results["latency_10_records"] = _latency(client, latency_ids, args.latency_runs)
        _report(results)
        succeeded = True
        return 0
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        _drop_database(admin_url, name)
        if succeeded:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs of the API and the worker: {workdir}", file=sys.stderr)


def _seed(engine, count: int, triggers: bool) -> list[str]:
    with engine.begin() as conn:
        create_connect_table(
            conn, SCHEMA, "contact", extra_columns={connect_sim.EXTERNAL_ID: "varchar(36)"}
        )
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX ON {SCHEMA}.contact ({connect_sim.EXTERNAL_ID})")
        if triggers:
            connect_sim.install(conn, SCHEMA, "contact")
    return _more(engine, count, start=0)


def _more(engine, count: int, start: int) -> list[str]:
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, SCHEMA, "contact", count, start=start)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"VACUUM ANALYZE {SCHEMA}.contact"
        )
    return sfids


def _throughput(client: httpx.Client, engine, kind: str, body: dict, count: int) -> dict:
    started = time.perf_counter()
    response = client.post(f"/api/v1/{kind}", json=body)
    response.raise_for_status()
    accepted = time.perf_counter() - started
    job = _wait(client, response.json()["job_id"], timeout=600)
    elapsed = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise SystemExit(f"{kind} job did not succeed: {json.dumps(job)[:500]}")
    with engine.connect() as conn:
        worker_seconds = conn.execute(
            text(
                "SELECT extract(epoch FROM finished_at - started_at) FROM archive.job "
                "WHERE job_id = :j"
            ),
            {"j": job["job_id"]},
        ).scalar_one()
    return {
        "seconds_end_to_end": round(elapsed, 3),
        "seconds_post_to_202": round(accepted, 3),
        "seconds_in_worker": round(float(worker_seconds), 3),
        "records_per_second_end_to_end": round(count / elapsed),
        "records_per_second_in_worker": round(count / float(worker_seconds)),
    }


def _latency(client: httpx.Client, sfids: list[str], runs: int) -> dict:
    timings = []
    for run in range(runs):
        chunk = sfids[run * 10 : (run + 1) * 10]
        started = time.perf_counter()
        response = client.post(
            "/api/v1/archive", json={"org": ORG, "object": "contact", "sfids": chunk}
        )
        job = _wait(client, response.json()["job_id"], timeout=30, poll=0.005)
        timings.append(time.perf_counter() - started)
        if job["status"] != "succeeded":
            raise SystemExit(f"latency job failed: {job}")
    timings.sort()
    return {
        "runs": runs,
        "median_seconds": round(statistics.median(timings), 4),
        "p95_seconds": round(timings[max(0, int(len(timings) * 0.95) - 1)], 4),
        "max_seconds": round(timings[-1], 4),
    }


def _wait(client: httpx.Client, job_id: str, timeout: float, poll: float = 0.02) -> dict:
    deadline = time.perf_counter() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "partial", "failed"):
            return job
        if time.perf_counter() > deadline:
            raise SystemExit(f"job {job_id} did not finish within {timeout}s: {job}")
        time.sleep(poll)


def _warm_up(client: httpx.Client, engine) -> None:
    """One tiny job, so the archive table exists and the worker is connected."""
    sfid = _more(engine, 1, start=10_000_000)
    response = client.post("/api/v1/archive", json={"org": ORG, "object": "contact", "sfids": sfid})
    _wait(client, response.json()["job_id"], timeout=60)


def _check(engine, live: int, archived: int) -> None:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                f"SELECT (SELECT count(*) FROM {SCHEMA}.contact), "
                f"(SELECT count(*) FROM archive.{ORG}_contact) - 1"
            )
        ).one()
    if tuple(found) != (live, archived):
        raise SystemExit(f"expected live={live} archived={archived}, found {tuple(found)}")


def _report(results: dict) -> None:
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "archive_bench.json").write_text(json.dumps(results, indent=2))
    archive, unarchive = results["archive"], results["unarchive"]
    latency = results["latency_10_records"]
    print(json.dumps(results, indent=2))
    print(
        f"\narchive   {results['records']:,} records: "
        f"{archive['records_per_second_end_to_end']:,}/s end to end "
        f"({archive['records_per_second_in_worker']:,}/s in the worker; target >= 5,000/s)"
    )
    print(
        f"unarchive {results['records']:,} records: "
        f"{unarchive['records_per_second_end_to_end']:,}/s end to end "
        f"({unarchive['records_per_second_in_worker']:,}/s in the worker)"
    )
    print(
        f"10-record job, POST to succeeded: median {latency['median_seconds'] * 1000:.0f} ms, "
        f"p95 {latency['p95_seconds'] * 1000:.0f} ms, max {latency['max_seconds'] * 1000:.0f} ms "
        "(target <= 1 s)"
    )


def _start(command: list[str], config: Path, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "archive_service", "--config", str(config), *command],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def _wait_until_up(client: httpx.Client) -> None:
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the archive API did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _create_database(admin_url: str, name: str) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
