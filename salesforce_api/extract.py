"""Extract one object of an org read through the API into its Connect-shaped table.

A Bulk API 2.0 `queryAll` job reads the records changed since the watermark (every
record the first time, or when a newly read field needs filling in). Its CSV pages
stream into a load table with COPY, each page committed together with the locator of
the next, so memory holds one page whatever the org's size and an interrupted extract
resumes from the last committed page. Only when every page is in does one transaction
merge them into the org's table and move the watermark: staging never sees a half-read
object. Deletions then follow (`salesforce_api.deletions`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from salesforce_api import bulk_query, mirror
from salesforce_api.connection import OrgConnection, SalesforceSourceError
from salesforce_api.deletions import DeletionReport, find_deletions
from salesforce_api.timestamps import parse_salesforce_datetime, soql_datetime
from warehouse.sql import copy_in, ident, idents

log = logging.getLogger(__name__)

# Records committed in Salesforce with a SystemModstamp a little older than the newest
# one read would be missed by a strict watermark; re-reading a short window is cheap
# (unchanged rows are not rewritten).
WATERMARK_OVERLAP = dt.timedelta(minutes=10)
_LOCK_NAMESPACE = 360_360_042


@dataclass
class ExtractReport:
    org: str
    table: str
    sobject: str | None = None
    in_org: bool = True
    full: bool = False
    resumed: bool = False
    rows: int = 0
    pages: int = 0
    changed: int = 0
    deletions: DeletionReport | None = None
    seconds: float = 0.0
    # Where the time went: waiting for Salesforce (job and pages), loading pages into
    # Postgres, merging them into the org's table.
    salesforce_seconds: float = 0.0
    load_seconds: float = 0.0
    merge_seconds: float = 0.0

    def line(self) -> str:
        if not self.in_org:
            return f"{self.table}: not in the org (or not visible to the integration user)"
        if self.pages == 0 and self.full and self.deletions is None:
            return f"{self.sobject}: {self.rows:,} rows (read whole), {self.seconds:.1f} s"
        what = "every record" if self.full else "changes"
        resumed = ", resumed" if self.resumed else ""
        gone = f", {self.deletions.line()}" if self.deletions else ""
        return (
            f"{self.sobject}: {self.rows:,} rows in {self.pages} pages ({what}{resumed}), "
            f"{self.changed:,} changed{gone}, {self.seconds:.1f} s (Salesforce "
            f"{self.salesforce_seconds:.1f} s, loading {self.load_seconds:.1f} s, merging "
            f"{self.merge_seconds:.1f} s)"
        )


def describe(connection: OrgConnection, sobject: str) -> dict:
    return connection.call(f"describing {sobject}", lambda sf: getattr(sf, sobject).describe())


def extract_table(engine: Engine, connection: OrgConnection, table: str) -> ExtractReport:
    """Bring the org's `table` (account, partner__c, currencytype...) up to date."""
    started = time.perf_counter()
    org = connection.org
    report = ExtractReport(org=org.key, table=table)
    sobject = connection.sobjects().get(table)
    if sobject is None:
        report.in_org = False
        return report
    report.sobject = sobject
    plan = mirror.plan_table(org, table, sobject, describe(connection, sobject))
    with engine.begin() as conn:
        mirror.ensure_table(conn, plan)
    with _exclusive(engine, plan):
        if plan.small:
            report.rows = _read_small_table(engine, connection, plan)
            report.full = True
        else:
            _read_changes(engine, connection, plan, report)
            report.deletions = find_deletions(engine, connection, plan)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _exclusive(engine: Engine, plan: mirror.MirrorTable):
    """One extract of an org's object at a time (a scheduled run and a manual one)."""
    key = zlib.crc32(f"{plan.org}/{plan.table}".encode()) & 0x7FFFFFFF
    with engine.connect() as conn:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": _LOCK_NAMESPACE, "key": key}
        ).scalar_one()
        conn.commit()
        if not got:
            raise SalesforceSourceError(
                f"org {plan.org!r}: {plan.sobject} is being extracted by another org360 "
                "process; this run leaves it to that one"
            )
        try:
            yield
        finally:
            conn.execute(
                text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _LOCK_NAMESPACE, "key": key}
            )
            conn.commit()


def _read_small_table(engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable) -> int:
    """Rate tables: a few rows, read whole through REST and replaced in one go."""
    soql = f"SELECT {', '.join(c.api_name for c in plan.columns)} FROM {plan.sobject}"
    result = connection.call(
        f"reading {plan.sobject}", lambda sf: sf.query_all(soql, include_deleted=False)
    )
    rows = [
        {k: _plain(v) for k, v in record.items() if k != "attributes"}
        for record in result.get("records", [])
    ]
    with engine.begin() as conn:
        return mirror.replace_rows(conn, plan, rows)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        return parse_salesforce_datetime(value).replace(tzinfo=None)
    return value


# -- the resumable Bulk query ---------------------------------------------------------


@dataclass
class _State:
    watermark: dt.datetime | None
    fields_hash: str | None
    job_id: str | None
    job_fields_hash: str | None
    job_full: bool | None
    job_created_at: dt.datetime | None
    next_locator: str | None
    pages_loaded: int
    rows_loaded: int
    paging_done: bool


def _read_state(conn: Connection, plan: mirror.MirrorTable) -> _State | None:
    row = conn.execute(
        text(
            "SELECT watermark, fields_hash, job_id, job_fields_hash, job_full, job_created_at, "
            "next_locator, pages_loaded, rows_loaded, paging_done FROM org360.salesforce_extract "
            "WHERE org = :org AND source_table = :table FOR UPDATE"
        ),
        {"org": plan.org, "table": plan.table},
    ).one_or_none()
    return _State(*row) if row else None


def _read_changes(
    engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable, report: ExtractReport
) -> None:
    started = time.perf_counter()
    with engine.begin() as conn:
        state = _read_state(conn, plan)
    resumable = state is not None and state.job_id and state.job_fields_hash == plan.fields_hash
    if resumable:
        try:
            _wait_for_job(engine, connection, plan, state.job_id)
            report.resumed = True
        except bulk_query.JobGone:
            log.warning(
                "org %r: %s: the interrupted job is gone; starting again", plan.org, plan.sobject
            )
            resumable = False
    if not resumable:
        state = _start_job(engine, connection, plan, state)
        _wait_for_job(engine, connection, plan, state.job_id)
    report.full = bool(state.job_full)
    clock = time.perf_counter()
    report.salesforce_seconds = clock - started
    while not state.paging_done:
        with bulk_query.fetch_page(
            connection,
            plan.sobject,
            state.job_id,
            state.next_locator or "",
            connection.settings.page_size,
        ) as page:
            fetched = time.perf_counter()
            report.salesforce_seconds += fetched - clock
            with engine.begin() as conn:
                _load_page(conn, plan, page)
                state = _advance(conn, plan, page)
        clock = time.perf_counter()
        report.load_seconds += clock - fetched
    report.pages = state.pages_loaded
    report.rows = state.rows_loaded
    with engine.begin() as conn:
        report.changed = _merge(conn, plan, state)
    report.merge_seconds = time.perf_counter() - clock
    bulk_query.delete_job(connection, plan.sobject, state.job_id)


def _wait_for_job(
    engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable, job_id: str
) -> None:
    """A job Salesforce failed is not resumed: the next run starts a new one."""
    try:
        bulk_query.wait_for_job(connection, plan.sobject, job_id)
    except bulk_query.JobGone:
        raise
    except SalesforceSourceError:
        _forget_job(engine, plan)
        raise


def _start_job(
    engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable, state: _State | None
) -> _State:
    incremental = (
        state is not None and state.watermark is not None and state.fields_hash == plan.fields_hash
    )
    since = soql_datetime(state.watermark - WATERMARK_OVERLAP) if incremental else None
    job = bulk_query.create_job(connection, plan.sobject, plan.soql(since))
    created = (
        parse_salesforce_datetime(job["createdDate"]).replace(tzinfo=None)
        if job.get("createdDate")
        else dt.datetime.now(dt.UTC).replace(tzinfo=None)
    )
    with engine.begin() as conn:
        mirror.reset_load_table(conn, plan)
        conn.execute(
            text(
                "INSERT INTO org360.salesforce_extract (org, source_table, sobject, job_id, "
                "job_fields_hash, job_full, job_created_at, next_locator, pages_loaded, "
                "rows_loaded, paging_done) VALUES (:org, :table, :sobject, :job, :hash, :full, "
                ":created, NULL, 0, 0, false) ON CONFLICT (org, source_table) DO UPDATE SET "
                "sobject = excluded.sobject, job_id = excluded.job_id, "
                "job_fields_hash = excluded.job_fields_hash, job_full = excluded.job_full, "
                "job_created_at = excluded.job_created_at, next_locator = NULL, "
                "pages_loaded = 0, rows_loaded = 0, paging_done = false, updated_at = now()"
            ),
            {
                "org": plan.org,
                "table": plan.table,
                "sobject": plan.sobject,
                "job": job["id"],
                "hash": plan.fields_hash,
                "full": not incremental,
                "created": created,
            },
        )
        return _read_state(conn, plan)


def _forget_job(engine: Engine, plan: mirror.MirrorTable) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE org360.salesforce_extract SET job_id = NULL, next_locator = NULL, "
                "pages_loaded = 0, rows_loaded = 0, paging_done = false, updated_at = now() "
                "WHERE org = :org AND source_table = :table"
            ),
            {"org": plan.org, "table": plan.table},
        )


def _load_page(conn: Connection, plan: mirror.MirrorTable, page: bulk_query.Page) -> None:
    if bulk_query.page_is_empty(page):
        return
    header = bulk_query.page_header(page)
    by_api = {c.api_name.lower(): c.name for c in plan.columns}
    unknown = [h for h in header if h.lower() not in by_api]
    if unknown:
        raise SalesforceSourceError(
            f"org {plan.org!r}: the results of the {plan.sobject} query have column(s) "
            f"{', '.join(unknown)} that org360 did not ask for"
        )
    names = idents(conn, [by_api[h.lower()] for h in header])
    with page.path.open("rb") as stream:
        copy_in(
            conn,
            f"COPY {ident(conn, plan.schema, plan.load_table)} ({names}) FROM STDIN WITH "
            f"(FORMAT csv, HEADER true, ENCODING 'UTF8', FORCE_NULL ({names}))",
            stream,
        )


def _advance(conn: Connection, plan: mirror.MirrorTable, page: bulk_query.Page) -> _State:
    conn.execute(
        text(
            "UPDATE org360.salesforce_extract SET next_locator = :locator, "
            "pages_loaded = pages_loaded + 1, rows_loaded = rows_loaded + :rows, "
            "paging_done = :done, updated_at = now() "
            "WHERE org = :org AND source_table = :table"
        ),
        {
            "locator": page.next_locator or None,
            "rows": page.records,
            "done": not page.next_locator,
            "org": plan.org,
            "table": plan.table,
        },
    )
    return _read_state(conn, plan)


def _merge(conn: Connection, plan: mirror.MirrorTable, state: _State) -> int:
    """Every page is in: one transaction merges them and moves the watermark. A read of
    every record also finds those purged since the last one (absent from it)."""
    load = ident(conn, plan.schema, plan.load_table)
    newest = conn.exec_driver_sql(f"SELECT max(systemmodstamp) FROM {load}").scalar()
    full = bool(state.job_full)
    changed = mirror.merge_loaded(conn, plan, state.job_created_at if full else None)
    conn.execute(
        text(
            "UPDATE org360.salesforce_extract SET "
            "watermark = CASE WHEN :full THEN CAST(:newest AS timestamp) "
            "ELSE greatest(watermark, CAST(:newest AS timestamp)) END, "
            "fields_hash = :hash, job_id = NULL, next_locator = NULL, paging_done = false, "
            "swept_at = CASE WHEN :full THEN job_created_at ELSE swept_at END, "
            "deletions_checked_until = CASE WHEN :full AND deletions_checked_until IS NULL "
            "THEN job_created_at ELSE deletions_checked_until END, updated_at = now() "
            "WHERE org = :org AND source_table = :table"
        ),
        {
            "full": full,
            "newest": newest,
            "hash": plan.fields_hash,
            "org": plan.org,
            "table": plan.table,
        },
    )
    conn.exec_driver_sql(f"TRUNCATE {ident(conn, plan.schema, plan.load_table)}")
    return changed
