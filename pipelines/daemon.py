"""`org360 daemon`: the Dagster daemon for org360's code location, one per deployment.

The daemon fires the consolidation and retention schedules, evaluates the sensors
(org partitions, automation after staging) and launches queued runs in subprocesses
on its machine (or through the run launcher that `dagster.yaml` names). Without it
nothing scheduled ever happens.

Two daemons on one instance would fire every schedule twice, so the daemon holds a
PostgreSQL advisory lock on org360's database for as long as it runs: a second one
finds the lock taken and refuses to start, naming the first. If the connection that
holds the lock is lost, the daemon stops (the platform restarts it, and it takes the
lock again), rather than run unguarded.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from core import logs
from core.errors import ConfigError
from core.processes import GRACE_SECONDS, run_child, signal_self
from pipelines.instance import process_environment

log = logging.getLogger("org360.daemon")

# Any constant unlike the other advisory locks of org360 (publication, migrations),
# the same for every org360 daemon.
DAEMON_LOCK_ID = 360_360_010
_APPLICATION = "org360 daemon"
# How often the lock's connection is checked, in seconds.
LOCK_CHECK_SECONDS = 15.0


# The tag Dagster's default run launcher puts on each run it starts.
_LAUNCHED_BY_CODE_SERVER = ".dagster/grpc_info"


class DaemonAlreadyRunning(ConfigError):
    """Another org360 daemon holds this database's daemon lock."""


def run_daemon(config_path: Path) -> int:
    """Hold the daemon lock and run `dagster-daemon` until stopped; its exit code."""
    env = process_environment(config_path)
    engine = create_engine(env["DATABASE_URL"], pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            _take_lock(conn)
            log.info("daemon lock taken; starting the Dagster daemon for %s", config_path)
            # A daemon killed outright (a crashed machine) left its runs "started".
            hand_back_runs("its daemon stopped before it finished")
            watcher = _LockWatcher(conn)
            watcher.start()
            try:
                code = run_child(
                    [
                        *(sys.executable, "-m", "dagster._daemon", "run"),
                        *("-m", "pipelines.definitions"),
                        # Colour codes are stripped on the way to stdout; JSON is JSON.
                        *("--log-format", "json" if logs.log_format() == "json" else "colored"),
                    ],
                    {**env, **logs.dagster_environment()},
                    grace=GRACE_SECONDS,
                    to_stdout=True,
                )
            finally:
                watcher.stop()
                # The runs it launched were in its process group, stopped with it.
                hand_back_runs("the daemon was stopped (SIGTERM) while it ran")
            if watcher.lost:
                log.error("the daemon lock's database connection was lost: stopped")
                return 1
            log.info("Dagster daemon stopped (exit code %d)", code)
            return code
    finally:
        engine.dispose()


def _take_lock(conn: Connection) -> None:
    host = socket.gethostname()
    conn.execute(
        text("SELECT set_config('application_name', :name, false)"),
        {"name": f"{_APPLICATION} {host} pid {os.getpid()}"[:63]},
    )
    taken = conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": DAEMON_LOCK_ID}).scalar()
    conn.commit()
    if taken:
        return
    holder = conn.execute(
        text(
            "SELECT a.application_name, a.backend_start, a.client_addr FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.objid = :low AND l.classid = :high"
        ),
        {"low": DAEMON_LOCK_ID & 0xFFFFFFFF, "high": DAEMON_LOCK_ID >> 32},
    ).first()
    conn.commit()
    who = (
        f"{holder.application_name or 'another process'}, running since "
        f"{holder.backend_start:%Y-%m-%d %H:%M:%S %Z}".rstrip()
        if holder is not None
        else "another process"
    )
    raise DaemonAlreadyRunning(
        f"another org360 daemon already runs against this database ({who}); one daemon per "
        "deployment fires each schedule once. Stop that one first (or scale the scheduler "
        "process to one)"
    )


def hand_back_runs(why: str) -> list[str]:
    """Mark as failed the runs this machine's daemon launched (with Dagster's default
    launcher, which runs them as children of the daemon's code server) that are still
    "started": none is running any more, since this daemon alone may launch and its
    predecessor's runs went with it. The failure's reason is the run worker's, so the
    retry policy in dagster.yaml queues each once more; nothing was half-published
    (publication is one transaction). Returns their run ids."""
    import dagster as dg
    from dagster._core.events import JobFailureData, RunFailureReason
    from dagster._core.launcher import DefaultRunLauncher

    with dg.DagsterInstance.get() as instance:
        if not isinstance(instance.run_launcher, DefaultRunLauncher):
            return []  # runs live where their launcher put them, not in this process group
        handed = []
        in_progress = instance.get_runs(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED])
        )
        for run in in_progress:
            # The launcher marks the runs it started in a code server's subprocess;
            # those of `org360 run` (in its own process) have no such mark.
            if _LAUNCHED_BY_CODE_SERVER not in run.tags:
                continue
            instance.report_run_failed(
                run,
                f"org360 daemon: {why}; the run is queued again by the retry policy",
                JobFailureData(error=None, failure_reason=RunFailureReason.RUN_WORKER_RESTART),
            )
            handed.append(run.run_id)
        for run_id in handed:
            log.warning("run %s handed back: %s", run_id, why)
        return handed


class _LockWatcher:
    """Checks now and then that the connection holding the lock is alive; when it is
    not, asks this process to stop (the same path as a SIGTERM)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lost = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="daemon lock", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stopped.wait(LOCK_CHECK_SECONDS):
            try:
                self.conn.execute(text("SELECT 1"))
                self.conn.commit()
            except Exception as error:  # any failure means the lock is gone
                log.error("daemon lock connection failed: %s", str(error).splitlines()[0])
                self.lost = True
                signal_self(signal.SIGTERM)
                return
