"""Submitting jobs and reading their state: what the API and the retention schedule call.

A submission is checked completely before anything is written, then the job and its
records are stored in one transaction and the job is queued. If queueing fails the job
is still stored as `queued`, and a worker's janitor queues it (nothing is lost).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, and_, insert, select, text, update

from archive_service import sfid as sfid_module
from archive_service.config import Runtime
from archive_service.criteria import ARCHIVE_COLUMNS, check_columns, check_values
from archive_service.errors import InvalidIds, JobNotFound, LiveTableMissing, UnknownOrg
from archive_service.models import (
    Criteria,
    JobRequest,
    JobStatus,
    RecordOutcome,
    RecordPage,
)
from archive_service.queue import Queue
from archive_service.status import read_status
from archive_service.tables import (
    SCHEMA,
    archive_table_name,
    job,
    job_record,
    lightweight_table,
    table_columns,
)
from core.errors import ConfigError
from core.settings import OrgSettings

logger = logging.getLogger(__name__)

MAX_REPORTED_BAD_IDS = 20


@dataclass(frozen=True)
class Submitted:
    job_id: str
    status: str


class JobService:
    def __init__(self, runtime: Runtime, queue: Queue) -> None:
        self.runtime = runtime
        self.queue = queue

    def submit(self, kind: str, request: JobRequest) -> Submitted:
        org = self._org(request.org)
        engine = self.runtime.engine
        with engine.connect() as conn:
            live_columns = table_columns(conn, org.schema, request.object)
            if not live_columns:
                raise LiveTableMissing(
                    f"org {org.key!r}: table {org.schema}.{request.object} does not exist; "
                    "map the object in this org's Heroku Connect connection first"
                )
            sfids = None
            if request.sfids is not None:
                sfids = normalise_sfids(request.sfids)
            else:
                assert request.criteria is not None
                self._check_criteria(conn, kind, org, request.object, request.criteria)
            conn.rollback()
            job_id = str(uuid.uuid4())
            with conn.begin():
                conn.execute(
                    insert(job).values(
                        job_id=job_id,
                        kind=kind,
                        org=org.key,
                        object=request.object,
                        source_schema=org.schema,
                        criteria=(
                            request.criteria.model_dump(mode="json", exclude_defaults=True)
                            if request.criteria
                            else None
                        ),
                        selection_resolved=sfids is not None,
                        total=len(sfids) if sfids is not None else None,
                        requested_by=request.requested_by,
                        callback_url=str(request.callback_url) if request.callback_url else None,
                    )
                )
                if sfids:
                    conn.execute(
                        text(
                            "INSERT INTO archive.job_record (job_id, sfid) "
                            "SELECT :job_id, unnest(CAST(:sfids AS varchar(18)[]))"
                        ),
                        {"job_id": job_id, "sfids": sfids},
                    )
        self.enqueue(job_id)
        return Submitted(job_id=job_id, status="queued")

    def enqueue(self, job_id: str) -> None:
        try:
            queue_job_id = self.queue.enqueue(job_id)
        except Exception:
            # The job is stored; the janitor of any worker queues it shortly.
            logger.exception("could not queue archive job %s; a worker will pick it up", job_id)
            return
        if queue_job_id is not None:
            with self.runtime.engine.begin() as conn:
                conn.execute(
                    update(job).where(job.c.job_id == job_id).values(queue_job_id=queue_job_id)
                )

    def status(self, job_id: str) -> JobStatus:
        with self.runtime.engine.connect() as conn:
            return read_status(conn, job_id)

    def records(self, job_id: str, outcome: str | None, after: str | None, limit: int):
        with self.runtime.engine.connect() as conn:
            row = conn.execute(select(job).where(job.c.job_id == job_id)).mappings().first()
            if row is None:
                raise JobNotFound(f"no archive job {job_id}")
            query = select(job_record.c.sfid, job_record.c.outcome, job_record.c.detail)
            restored = None
            if row["kind"] == "unarchive":
                name = archive_table_name(row["org"], row["object"])
                if table_columns(conn, SCHEMA, name):
                    restored = lightweight_table(SCHEMA, name, ["sfid", "restored_sfid"])
                    query = query.add_columns(restored.c.restored_sfid).outerjoin(
                        restored, restored.c.sfid == job_record.c.sfid
                    )
            conditions = [job_record.c.job_id == job_id]
            if outcome is not None:
                conditions.append(job_record.c.outcome == outcome)
            if after is not None:
                conditions.append(job_record.c.sfid > after)
            rows = conn.execute(
                query.where(and_(*conditions)).order_by(job_record.c.sfid).limit(limit + 1)
            ).all()
        page = [
            RecordOutcome(
                sfid=r.sfid,
                outcome=r.outcome,
                detail=r.detail,
                restored_sfid=r.restored_sfid if restored is not None else None,
            )
            for r in rows[:limit]
        ]
        next_after = page[-1].sfid if len(rows) > limit else None
        return RecordPage(records=page, next_after=next_after)

    def _org(self, key: str) -> OrgSettings:
        try:
            return self.runtime.settings.org(key)
        except ConfigError:
            known = ", ".join(self.runtime.settings.org_keys)
            raise UnknownOrg(f"unknown org {key!r}; configured orgs: {known}") from None

    def _check_criteria(
        self, conn: Connection, kind: str, org: OrgSettings, obj: str, criteria: Criteria
    ) -> None:
        live = f"{org.schema}.{obj}"
        if kind == "archive":
            check_columns(kind, criteria, table_columns(conn, org.schema, obj), live)
            check_values(conn, kind, criteria, org.schema, obj)
            return
        name = archive_table_name(org.key, obj)
        archived = table_columns(conn, SCHEMA, name)
        # No archive table yet: it will be created from the live table's columns.
        available = archived or [*table_columns(conn, org.schema, obj), *ARCHIVE_COLUMNS]
        check_columns(kind, criteria, available, f"archive.{name}" if archived else live)
        if archived:
            check_values(conn, kind, criteria, SCHEMA, name)


def normalise_sfids(raw: list[str]) -> list[str]:
    """Canonical 18-character ids, duplicates dropped; refuses the request on a bad id."""
    seen: dict[str, None] = {}
    bad: list[str] = []
    for value in raw:
        canonical = sfid_module.to_18(value)
        if canonical is None:
            bad.append(value)
        else:
            seen.setdefault(canonical, None)
    if bad:
        raise InvalidIds(
            f"{len(bad)} id(s) are not Salesforce ids (15 or 18 letters and digits, "
            "with a valid 18-character suffix)",
            details=bad[:MAX_REPORTED_BAD_IDS],
        )
    return list(seen)
