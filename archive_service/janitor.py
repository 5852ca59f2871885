"""Housekeeping every worker does between jobs; each step is safe with several workers.

- Jobs of workers that stopped heart-beating (killed, or cut off from the database)
  go back to the queue, so another worker finishes them.
- Jobs stored but never queued (the API could not reach the queue) are queued.
- Jobs the queue gave up on, or an operator cancelled there, are marked failed.
- Due completion callbacks are delivered (in a loop of their own).
- Restored records that Heroku Connect has created in Salesforce get their new sfid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import procrastinate
from sqlalchemy import text

from archive_service import callbacks
from archive_service.config import Runtime
from archive_service.jobs import JobService
from archive_service.queue import QUEUE, Queue
from archive_service.runner import JobRunner

logger = logging.getLogger(__name__)

# A job the API stored this long ago without a queue entry was not queued.
ORPHAN_AFTER_SECONDS = 10


class Janitor:
    def __init__(self, runtime: Runtime, queue: Queue) -> None:
        self.runtime = runtime
        self.service = JobService(runtime, queue)
        self.runner = JobRunner(runtime)
        self._last_reconcile = 0.0

    async def run(self, app: procrastinate.App, stop: asyncio.Event) -> None:
        # Callbacks wait on other people's servers: they get a loop of their own, so a
        # slow endpoint never delays recovering a dead worker's jobs.
        await asyncio.gather(
            self._every_interval(stop, lambda: self.tick(app)),
            self._every_interval(stop, self.deliver_callbacks),
        )

    async def _every_interval(self, stop: asyncio.Event, step) -> None:
        while not stop.is_set():
            await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.runtime.options.janitor_interval_seconds)

    async def tick(self, app: procrastinate.App) -> None:
        steps = [
            ("retry stalled jobs", lambda: self.retry_stalled(app)),
            ("queue orphaned jobs", lambda: asyncio.to_thread(self.queue_orphans)),
            ("fail abandoned jobs", lambda: asyncio.to_thread(self.fail_abandoned)),
        ]
        reconcile_every = self.runtime.options.reconcile_interval_seconds
        if time.monotonic() - self._last_reconcile >= reconcile_every:
            steps.append(("record restored sfids", lambda: asyncio.to_thread(self.reconcile)))
            self._last_reconcile = time.monotonic()
        for name, step in steps:
            await _logged(name, step)

    async def deliver_callbacks(self) -> None:
        await _logged(
            "deliver callbacks", lambda: asyncio.to_thread(callbacks.deliver_due, self.runtime)
        )

    async def retry_stalled(self, app: procrastinate.App) -> int:
        stalled_after = self.runtime.options.stalled_after_seconds
        manager = app.job_manager
        await manager.prune_stalled_workers(stalled_after)
        retried = 0
        for stalled in await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=stalled_after
        ):
            try:
                await manager.retry_job(stalled)
            except procrastinate.exceptions.ConnectorException:
                continue  # another worker's janitor retried it first
            logger.warning("retrying queue job %s of a worker that stopped", stalled.id)
            retried += 1
        return retried

    def queue_orphans(self) -> int:
        with self.runtime.engine.connect() as conn:
            orphans = (
                conn.execute(
                    text(
                        "SELECT job_id FROM archive.job WHERE status = 'queued' "
                        "AND queue_job_id IS NULL "
                        "AND created_at < now() - make_interval(secs => :age) "
                        "ORDER BY created_at LIMIT 100"
                    ),
                    {"age": ORPHAN_AFTER_SECONDS},
                )
                .scalars()
                .all()
            )
        for job_id in orphans:
            self.service.enqueue(job_id)
        return len(orphans)

    def fail_abandoned(self) -> int:
        with self.runtime.engine.connect() as conn:
            abandoned = conn.execute(
                text(
                    "SELECT j.job_id, q.status::text FROM archive.job j "
                    "JOIN procrastinate_jobs q ON q.id = j.queue_job_id "
                    "WHERE j.status IN ('queued', 'running') "
                    "AND q.status IN ('failed', 'cancelled', 'aborted')"
                )
            ).all()
        for job_id, queue_status in abandoned:
            self.runner.fail(job_id, f"the job queue ended this job as {queue_status}")
        return len(abandoned)

    def reconcile(self) -> int:
        done = 0
        with self.runtime.engine.connect() as conn:
            registered = conn.execute(
                text("SELECT org, object FROM archive.archived_object ORDER BY org, object")
            ).all()
        for org, obj in registered:
            with self.runtime.engine.begin() as conn:
                done += conn.execute(
                    text("SELECT archive.record_restored_sfids_v1(:org, :object, :column)"),
                    {"org": org, "object": obj, "column": self.runtime.options.external_id_field},
                ).scalar_one()
        return done


async def _logged(name: str, step) -> None:
    try:
        await step()
    except Exception as exc:
        # The database may be restarting; the next round tries again.
        logger.warning("janitor could not %s: %s", name, exc)
