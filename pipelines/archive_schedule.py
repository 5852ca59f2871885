"""Retention policies (`retention:` in org360.yaml) become archive jobs, daily.

The op only submits jobs, through the same service as the API (so they are checked
the same way and appear in the same job list); workers do the moving. A policy whose
previous job is still queued or running is skipped rather than submitted twice.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation.
from dagster import DefaultScheduleStatus, OpExecutionContext, ScheduleDefinition, job, op
from sqlalchemy import select

from archive_service.errors import RequestError
from archive_service.jobs import JobService
from archive_service.models import Criteria, JobRequest
from archive_service.queue import Queue
from archive_service.tables import job as job_table
from assets.archive_assets import ArchiveResource
from core.settings import RetentionPolicy

RETENTION_CRON = "30 2 * * *"


def requested_by(policy: RetentionPolicy) -> str:
    return f"retention:{policy.org}.{policy.object}"


@op(description="Submit one archive job per retention policy.")
def enqueue_retention_jobs(context: OpExecutionContext, archive: ArchiveResource) -> list[str]:
    submitted: list[str] = []
    refused: list[str] = []
    with archive.runtime() as runtime:
        queue = Queue(runtime)
        try:
            service = JobService(runtime, queue)
            for policy in runtime.settings.retention:
                tag = requested_by(policy)
                with runtime.engine.connect() as conn:
                    active = conn.execute(
                        select(job_table.c.job_id).where(
                            job_table.c.requested_by == tag,
                            job_table.c.status.in_(("queued", "running")),
                        )
                    ).first()
                if active is not None:
                    context.log.info(f"{tag}: job {active.job_id} still running; skipped")
                    continue
                request = JobRequest(
                    org=policy.org,
                    object=policy.object,
                    criteria=Criteria(older_than_days=policy.older_than_days, where=policy.where),
                    requested_by=tag,
                )
                try:
                    job_id = service.submit("archive", request).job_id
                except RequestError as exc:
                    refused.append(f"{tag}: {exc.message}")
                    continue
                context.log.info(f"{tag}: archive job {job_id} queued")
                submitted.append(job_id)
        finally:
            queue.close()
    if refused:
        # The other policies' jobs are queued; fail the run so the bad ones get fixed.
        raise RequestError("retention policies refused: " + "; ".join(refused))
    return submitted


@job(description="Queue the archive jobs that org360.yaml's retention policies ask for.")
def retention_job() -> None:
    enqueue_retention_jobs()


retention_schedule = ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule=RETENTION_CRON,
    execution_timezone="UTC",
    # Without `retention:` policies in the config it queues nothing.
    default_status=DefaultScheduleStatus.RUNNING,
)
