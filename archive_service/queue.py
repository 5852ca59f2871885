"""The job queue: procrastinate, in org360's Postgres (schema installed by migration 0031).

One task, `archive.run_job(job_id)`. Apps are built by `make_app` rather than at import,
so the API (deferring over the runtime's SQLAlchemy engine) and the worker (fetching
with psycopg 3, which procrastinate's worker needs) each get their own connector.
"""

from __future__ import annotations

import logging

import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from procrastinate.exceptions import AlreadyEnqueued

from archive_service.config import ArchiveOptions, Runtime
from archive_service.tasks import run_job

logger = logging.getLogger(__name__)

QUEUE = "archive"
RUN_JOB = "archive.run_job"
# Procrastinate waits exponential_wait ** (attempts + 1) seconds: 2, 4, 8, 16… (capped
# by max_attempts); a job also waits out short database outages inside the runner.
JOB_RETRY_BASE_SECONDS = 2


def make_app(connector, options: ArchiveOptions) -> procrastinate.App:
    app = procrastinate.App(connector=connector)
    app.task(
        name=RUN_JOB,
        queue=QUEUE,
        pass_context=True,
        retry=procrastinate.RetryStrategy(
            max_attempts=options.job_max_attempts, exponential_wait=JOB_RETRY_BASE_SECONDS
        ),
    )(run_job)
    return app


class Queue:
    """Defers jobs from synchronous code (API routes, the Dagster schedule, the janitor)."""

    def __init__(self, runtime: Runtime) -> None:
        self.app = make_app(SQLAlchemyPsycopg2Connector(), runtime.options)
        self.app.open(runtime.engine)

    def enqueue(self, job_id: str) -> int | None:
        """Queue a run of the job; None when a run is already waiting in the queue."""
        try:
            return self.app.configure_task(RUN_JOB, queueing_lock=job_id).defer(job_id=job_id)
        except AlreadyEnqueued:
            return None

    def close(self) -> None:
        self.app.close()
