"""Running one job: prepare the archive table, resolve criteria, then batches until done.

Each step is its own transaction and safe to repeat, so a run may stop anywhere (a
crash, a SIGKILL, a database restart) and any later run, on any worker, picks up
where it stopped. Several runs of one job may even overlap: batches are claimed with
SKIP LOCKED, and the last batches are claimed waiting for whoever holds them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Integer, and_, case, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InternalError,
    OperationalError,
    ProgrammingError,
)

from archive_service import callbacks
from archive_service.config import Runtime
from archive_service.criteria import predicates, source_table
from archive_service.errors import Interrupted, JobError
from archive_service.models import Criteria
from archive_service.tables import SCHEMA, archive_table_name, job, job_record
from core.errors import ConfigError

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"succeeded", "partial", "failed"})
# The view columns each object shows (archive.view_fields_v1); an org's field mapping
# may name its own source column for them.
VIEW_FIELDS = {
    "account": ("name", "website", "phone", "billing_city", "billing_country"),
    "contact": ("first_name", "last_name", "email", "phone", "account_sfid"),
}

T = TypeVar("T")


class JobRunner:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.options = runtime.options

    def run(self, job_id: str, should_stop: Callable[[], bool] = lambda: False) -> str:
        """Run the job to its end; return its final status (or its status if already final)."""
        row = self._retrying(lambda: self._start(job_id))
        if row is None:
            logger.warning("archive job %s does not exist; nothing to run", job_id)
            return "unknown"
        if row["status"] in FINAL_STATUSES:
            return row["status"]
        try:
            self._retrying(lambda: self._ensure_table(row))
            if not row["selection_resolved"]:
                self._retrying(lambda: self._resolve(row))
            self._process(row, should_stop)
        except JobError as exc:
            self.fail(job_id, str(exc))
            return "failed"
        status = self._retrying(lambda: self._finish(job_id))
        if status is not None:
            callbacks.deliver_due(self.runtime, job_id=job_id)
        return status or "running"

    def fail(self, job_id: str, message: str) -> None:
        """Mark a job failed (if it is not final yet) and send its callback."""
        logger.error("archive job %s failed: %s", job_id, message)
        with self.runtime.engine.begin() as conn:
            conn.execute(
                update(job)
                .where(job.c.job_id == job_id, job.c.status.in_(("queued", "running")))
                .values(status="failed", error=message, finished_at=func.now(), **_callback_due())
            )
        callbacks.deliver_due(self.runtime, job_id=job_id)

    def _start(self, job_id: str):
        with self.runtime.engine.begin() as conn:
            conn.execute(
                update(job)
                .where(job.c.job_id == job_id, job.c.status == "queued")
                .values(status="running", started_at=func.now())
            )
            return conn.execute(select(job).where(job.c.job_id == job_id)).mappings().first()

    def _ensure_table(self, row) -> None:
        obj = row["object"]
        view_columns: dict[str, str] = {}
        try:
            overrides = self.runtime.settings.org(row["org"]).field_overrides(obj)
        except ConfigError:
            # The org left the config since the job was posted: Connect's defaults then.
            overrides = {}
        for name in VIEW_FIELDS[obj]:
            if name in overrides:
                view_columns[name] = overrides[name]
        with self.runtime.engine.begin() as conn, _permanent_errors():
            conn.execute(
                text(
                    "SELECT archive.ensure_table_v1(:org, :object, :schema, CAST(:view AS jsonb))"
                ),
                {
                    "org": row["org"],
                    "object": obj,
                    "schema": row["source_schema"],
                    "view": json.dumps(view_columns),
                },
            )

    def _resolve(self, row) -> None:
        """Turn the job's criteria into its list of records, once, in one transaction."""
        kind = row["kind"]
        criteria = Criteria.model_validate(row["criteria"])
        if kind == "archive":
            schema, name = row["source_schema"], row["object"]
        else:
            schema, name = SCHEMA, archive_table_name(row["org"], row["object"])
        tbl = source_table(kind, criteria, schema, name)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        selected = predicates(kind, criteria, tbl, now)
        with self.runtime.engine.begin() as conn, _permanent_errors():
            locked = conn.execute(
                select(job.c.selection_resolved)
                .where(job.c.job_id == row["job_id"])
                .with_for_update()
            ).scalar_one()
            if locked:
                return
            conn.execute(
                pg_insert(job_record)
                .from_select(
                    ["job_id", "sfid"],
                    select(literal(row["job_id"]), tbl.c.sfid).where(
                        and_(tbl.c.sfid.is_not(None), *selected)
                    ),
                )
                .on_conflict_do_nothing()
            )
            skipped = 0
            if kind == "archive":
                skipped = conn.execute(
                    select(func.count())
                    .select_from(tbl)
                    .where(and_(tbl.c.sfid.is_(None), *selected))
                ).scalar_one()
            total = select(func.count()).where(job_record.c.job_id == row["job_id"])
            conn.execute(
                update(job)
                .where(job.c.job_id == row["job_id"])
                .values(
                    selection_resolved=True,
                    total=total.scalar_subquery(),
                    skipped_without_sfid=skipped,
                )
            )

    def _process(self, row, should_stop: Callable[[], bool]) -> None:
        wait = False
        while True:
            if should_stop():
                raise Interrupted(f"worker stopping; archive job {row['job_id']} will resume")
            settled = self._retrying(lambda wait=wait: self._batch(row, wait))
            if settled == 0:
                if wait:
                    return
                # Records still unsettled are held by another run of this job (or were,
                # by a run that died): wait for them rather than skip them.
                wait = True

    def _batch(self, row, wait: bool) -> int:
        params = {"job": row["job_id"], "size": self.options.batch_size, "wait": wait}
        if row["kind"] == "archive":
            sql = "SELECT archive.archive_next_batch_v1(:job, :size, :wait)"
        else:
            sql = (
                "SELECT archive.unarchive_next_batch_v1(:job, :size, :wait, :external_id, "
                "CAST(:keep_out AS text[]))"
            )
            params["external_id"] = self.options.external_id_field
            params["keep_out"] = list(self.options.read_only_columns)
        with self.runtime.engine.begin() as conn, _permanent_errors():
            return conn.execute(text(sql), params).scalar_one()

    def _finish(self, job_id: str) -> str | None:
        """Settle the job's status once no record is left; None if another run still works."""
        with self.runtime.engine.begin() as conn:
            return _finish_job(conn, job_id)

    def _retrying(self, step: Callable[[], T]) -> T:
        """Run a step, retrying while the database is unreachable or a lock conflict
        aborts it (steps are idempotent, so a repeat is safe)."""
        deadline = time.monotonic() + self.options.database_retry_seconds
        delay = 0.2
        while True:
            try:
                return step()
            except DBAPIError as exc:
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or time.monotonic() > deadline:
                    raise
                logger.warning(
                    "database unavailable (%s); retrying in %.1fs", _first_line(exc), delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def _finish_job(conn: Connection, job_id: str) -> str | None:
    unsettled = select(job_record.c.sfid).where(
        job_record.c.job_id == job_id, job_record.c.outcome.is_(None)
    )
    all_succeeded = job.c.processed == func.coalesce(
        job.c.counts[case((job.c.kind == "archive", "archived"), else_="unarchived")].astext.cast(
            Integer
        ),
        0,
    )
    return conn.execute(
        update(job)
        .where(job.c.job_id == job_id, job.c.status == "running", ~unsettled.exists())
        .values(
            status=case((all_succeeded, "succeeded"), else_="partial"),
            finished_at=func.now(),
            **_callback_due(),
        )
        .returning(job.c.status)
    ).scalar()


def _callback_due() -> dict:
    """A finished job's callback (if it has one) becomes due now."""
    has_callback = job.c.callback_url.is_not(None)
    return {
        "callback_status": case((has_callback, "pending"), else_=None),
        "callback_next_at": case((has_callback, func.now()), else_=None),
    }


@contextmanager
def _permanent_errors() -> Iterator[None]:
    """Errors retrying cannot fix (a missing table or column, a value too long for a
    column) become a JobError carrying Postgres's message and hint."""
    try:
        yield
    except (DataError, IntegrityError, InternalError, ProgrammingError) as exc:
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or _first_line(exc)
        hint = getattr(diag, "message_hint", None)
        raise JobError(message + (f" ({hint})" if hint else "")) from exc


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(exc).__name__
