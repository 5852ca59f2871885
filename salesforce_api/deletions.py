"""Records deleted in an org read through the API.

A soft deletion arrives with the records (`queryAll` returns them with IsDeleted
true). A record purged from the recycle bin (or deleted past it) never does: it is
found through Salesforce's `deleted` resource, which remembers about 15 days, and,
beyond that window or every `full_sweep_days`, by reading every id (a sweep) and
flagging the records that were not in it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from simple_salesforce.exceptions import SalesforceMalformedRequest
from sqlalchemy import Engine, text

from salesforce_api import bulk_query, mirror
from salesforce_api.connection import OrgConnection
from salesforce_api.timestamps import parse_salesforce_datetime, utc_naive
from warehouse.sql import copy_in, ident

log = logging.getLogger(__name__)

# Salesforce answers `deleted` for a window of at most 30 days back; ask well inside it.
DELETED_WINDOW = dt.timedelta(days=29)
# Deletions committed a little before the last check's end may not have been listed.
DELETED_OVERLAP = dt.timedelta(minutes=10)


@dataclass
class DeletionReport:
    flagged: int = 0
    swept: bool = False
    reason: str = ""

    def line(self) -> str:
        how = f" (every id read: {self.reason})" if self.swept else ""
        return f"{self.flagged:,} found deleted{how}"


def find_deletions(
    engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable
) -> DeletionReport:
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        checked_until, swept_at = conn.execute(
            text(
                "SELECT deletions_checked_until, swept_at FROM org360.salesforce_extract "
                "WHERE org = :org AND source_table = :table"
            ),
            {"org": plan.org, "table": plan.table},
        ).one()
    sweep_every = dt.timedelta(days=connection.settings.full_sweep_days)
    if swept_at is None or utc_naive(now) - swept_at >= sweep_every:
        return _sweep(engine, connection, plan, "periodic")
    if not connection.lists_deletions(plan.table):
        return _sweep(engine, connection, plan, "Salesforce lists no deletions of it")
    if checked_until is None or utc_naive(now) - checked_until >= DELETED_WINDOW:
        return _sweep(engine, connection, plan, "beyond Salesforce's deleted-records window")
    start = (checked_until - DELETED_OVERLAP).replace(tzinfo=dt.UTC)
    listed = _deleted_since(connection, plan, start, now)
    if listed is None:
        return _sweep(engine, connection, plan, "beyond Salesforce's deleted-records window")
    deleted, covered = listed
    with engine.begin() as conn:
        flagged = mirror.mark_deleted(conn, plan, deleted)
        conn.execute(
            text(
                "UPDATE org360.salesforce_extract SET deletions_checked_until = :until, "
                "updated_at = now() WHERE org = :org AND source_table = :table"
            ),
            {"until": utc_naive(covered), "org": plan.org, "table": plan.table},
        )
    return DeletionReport(flagged=flagged)


def _deleted_since(
    connection: OrgConnection, plan: mirror.MirrorTable, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[str, dt.datetime]], dt.datetime] | None:
    """(id, deletedDate) of records deleted in [start, end] and the end Salesforce
    covered; None when `start` is older than Salesforce still remembers."""

    def ask(sf):
        try:
            return getattr(sf, plan.sobject).deleted(start, end)
        except SalesforceMalformedRequest as exc:
            content = exc.content if isinstance(exc.content, list) else []
            if content and content[0].get("errorCode") == "INVALID_REPLICATION_DATE":
                return None
            raise

    answer = connection.call(f"listing deleted {plan.sobject} records", ask)
    if answer is None:
        return None
    earliest = answer.get("earliestDateAvailable")
    if earliest and parse_salesforce_datetime(earliest) > start:
        return None
    deleted = [
        (r["id"], parse_salesforce_datetime(r["deletedDate"]))
        for r in answer.get("deletedRecords", [])
    ]
    covered = answer.get("latestDateCovered")
    return deleted, parse_salesforce_datetime(covered) if covered else end


def _sweep(
    engine: Engine, connection: OrgConnection, plan: mirror.MirrorTable, reason: str
) -> DeletionReport:
    """Read every id the org still has (recycle bin included) and flag the others."""
    job = bulk_query.create_job(connection, plan.sobject, plan.soql(only_ids=True))
    bulk_query.wait_for_job(connection, plan.sobject, job["id"])
    began = parse_salesforce_datetime(job["createdDate"]) if job.get("createdDate") else None
    began = utc_naive(began or dt.datetime.now(dt.UTC))
    seen = f"{mirror.LOAD_PREFIX}ids_{plan.table}"
    with engine.begin() as conn:
        table = ident(conn, plan.schema, seen)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        conn.exec_driver_sql(f"CREATE TABLE {table} (sfid varchar(18))")
    locator = ""
    while True:
        with bulk_query.fetch_page(
            connection, plan.sobject, job["id"], locator, connection.settings.page_size
        ) as page:
            if not bulk_query.page_is_empty(page):
                with engine.begin() as conn, page.path.open("rb") as stream:
                    copy_in(
                        conn,
                        f"COPY {table} (sfid) FROM STDIN WITH (FORMAT csv, HEADER true)",
                        stream,
                    )
        locator = page.next_locator
        if not locator:
            break
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX ON {table} (sfid)")
        flagged = mirror.mark_absent_deleted(conn, plan, table, began)
        conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.execute(
            text(
                "UPDATE org360.salesforce_extract SET swept_at = :began, "
                "deletions_checked_until = :began, updated_at = now() "
                "WHERE org = :org AND source_table = :table"
            ),
            {"began": began, "org": plan.org, "table": plan.table},
        )
    bulk_query.delete_job(connection, plan.sobject, job["id"])
    log.info(
        "org %r: %s: every id read (%s); %d found deleted", plan.org, plan.sobject, reason, flagged
    )
    return DeletionReport(flagged=flagged, swept=True, reason=reason)
