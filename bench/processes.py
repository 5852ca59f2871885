"""What each Procfile process needs: memory at rest and during a scheduled run, and the
time from a schedule tick to the published run.

Seeds the demo orgs at the given size in a database of their own, starts `web`,
`worker` and `scheduler` from the Procfile as a platform does (after `release`), with
a schedule that fires every minute, and samples every process's memory (PSS, the
process and everything it started) every half second: at rest before the first
tick, then until the run that tick started is published. Then stops them all with
SIGTERM and reports how long each took.

    bench/.venv/bin/python bench/processes.py --records 100000
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import yaml
from scale import RECORDS_PER_COMPANY, fresh_database, generate_and_seed
from sqlalchemy import create_engine, text

from core.settings import load_settings
from demo.opportunities import rates_csv
from demo.seed import write_demo_config
from warehouse.currency import load_rates_file
from warehouse.engines import engine_for

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ("web", "worker", "scheduler")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return {n.strip(): c.strip() for n, _, c in (line.partition(":") for line in lines) if c}


class Sampler:
    """Peak PSS of each named process tree, in phases."""

    def __init__(self, processes: dict[str, subprocess.Popen]) -> None:
        self.processes = {name: psutil.Process(p.pid) for name, p in processes.items()}
        self.phase = "start"
        self.peaks: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_pss(self, process: psutil.Process) -> int:
        total = 0
        with contextlib.suppress(psutil.NoSuchProcess):
            for member in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += member.memory_full_info().pss
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for name, process in self.processes.items():
                key = (name, self.phase)
                self.peaks[key] = max(self.peaks.get(key, 0), self._tree_pss(process))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    url = fresh_database(f"org360_processes_{args.records}")
    companies = max(1, int(args.records / RECORDS_PER_COMPANY))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        rows = pool.apply(generate_and_seed, (url, companies, args.seed))
    print("seeded: " + ", ".join(f"{count} {table}" for table, count in rows.items()))
    work = Path(tempfile.mkdtemp(prefix="org360-processes-"))
    config = write_demo_config(work / "org360.yaml", url)
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({**raw, "schedule": "* * * * *"}), encoding="utf-8")
    rates = work / "rates.csv"
    rates.write_text(rates_csv(), encoding="utf-8")
    load_rates_file(engine_for(url), rates, load_settings(config))

    port = 8900
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "DATABASE_URL": url,
        "ORG360_CONFIG": str(config),
        "ORG360_HOME": str(work / "home"),
        "DAGSTER_HOME": str(work / "dagster"),
        "PORT": str(port),
        "ORG360_API_USER": "bench",
        "ORG360_API_PASSWORD": "bench-password",
    }
    commands = procfile()
    subprocess.run(["bash", "-c", commands["release"]], env=env, cwd=ROOT, check=True)
    # Start just after a minute's turn: the first tick is about a minute away.
    while datetime.now(UTC).second > 3:
        time.sleep(0.5)
    processes = {
        name: subprocess.Popen(
            ["bash", "-c", commands[name]],
            env=env,
            cwd=ROOT,
            stdout=open(work / f"{name}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name in PROCESSES
    }
    sampler = Sampler(processes)
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the web process did not answer within 60 s")
            time.sleep(0.5)
        tick = datetime.now(UTC).replace(second=0, microsecond=0).timestamp() + 60
        time.sleep(max(0.0, tick - time.time() - 20))
        sampler.phase = "rest"  # everything started, 20 s before the first tick
        time.sleep(max(0.0, tick - time.time()))
        sampler.phase = "run"
        published = _wait_for_publication(engine, tick)
        sampler.phase = "after"
        print(f"from the schedule's tick to the published run: {published - tick:.1f} s")
    finally:
        sampler.stop()
        stops = {}
        for name, process in processes.items():
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
                stops[name] = f"{time.monotonic() - began:.1f} s"
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                stops[name] = "did not stop within 60 s"
        engine.dispose()
    print(f"{'process':<10} {'at rest':>10} {'during the run':>15}   SIGTERM to exit")
    for name in PROCESSES:
        rest = sampler.peaks.get((name, "rest"), 0) / 2**20
        run = sampler.peaks.get((name, "run"), 0) / 2**20
        print(f"{name:<10} {rest:>6.0f} MiB {run:>11.0f} MiB   {stops[name]}")
    print(f"logs in {work}")


def _wait_for_publication(engine, tick: float, timeout: float = 1800) -> float:
    """When the run the tick started published (the automation's run succeeding)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT max(update_timestamp) FROM dagster.runs WHERE status = 'SUCCESS' "
                    "AND pipeline_name = '__ASSET_JOB' AND create_timestamp > to_timestamp(:t) "
                    "AT TIME ZONE 'UTC'"
                ),
                {"t": tick},
            ).scalar()
        if found is not None:
            return found.replace(tzinfo=UTC).timestamp()
        time.sleep(1)
    raise SystemExit(f"nothing published within {timeout:.0f} s of the tick")


if __name__ == "__main__":
    main()
