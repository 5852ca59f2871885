"""A job's status as the API reports it: a plain read, below the queueing code (the
callbacks that report it are called from the job runner)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from archive_service.errors import JobNotFound
from archive_service.models import OUTCOMES, CallbackState, JobStatus
from archive_service.tables import job


def read_status(conn: Connection, job_id: str) -> JobStatus:
    row = conn.execute(select(job).where(job.c.job_id == job_id)).mappings().first()
    if row is None:
        raise JobNotFound(f"no archive job {job_id}")
    counts = dict.fromkeys(OUTCOMES, 0)
    counts.update({k: int(v) for k, v in (row["counts"] or {}).items() if k in counts})
    callback = None
    if row["callback_url"]:
        callback = CallbackState(
            url=row["callback_url"],
            status=row["callback_status"],
            attempts=row["callback_attempts"],
            error=row["callback_error"],
        )
    return JobStatus(
        job_id=row["job_id"],
        kind=row["kind"],
        org=row["org"],
        object=row["object"],
        status=row["status"],
        counts=counts,
        total=row["total"],
        processed=row["processed"],
        skipped_without_sfid=row["skipped_without_sfid"],
        error=row["error"],
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        callback=callback,
    )
