"""Criteria -> SQLAlchemy Core predicates over a whitelist of the source table's columns.

Equality values are bound as text and left untyped, so Postgres converts each to its
column's type (a number column compared with "12.5", a boolean with "true"); a value
the column cannot hold is a clear error when the request is checked, not a job failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, and_, literal, select
from sqlalchemy.exc import DataError

from archive_service.errors import InvalidCriteria
from archive_service.models import Criteria
from archive_service.tables import lightweight_table

# Columns the criteria read beyond `where`: on the live table, and on archive tables.
LIVE_COLUMNS = ("sfid", "systemmodstamp")
ARCHIVE_COLUMNS = ("sfid", "systemmodstamp", "archived_at", "archive_job_id", "restored_at")


def check_columns(kind: str, criteria: Criteria, available: Iterable[str], source: str) -> None:
    """Refuse criteria naming columns the source table lacks, or options of the other kind."""
    if kind == "archive" and (criteria.archived_before or criteria.archive_job_id):
        raise InvalidCriteria(
            "archived_before and archive_job_id select archived records: use them to unarchive"
        )
    known = set(available)
    unknown = sorted(name for name in criteria.where if name not in known)
    if unknown:
        raise InvalidCriteria(
            f"criteria name column(s) {', '.join(unknown)} that {source} does not have; "
            "use Heroku Connect column names (lower-case Salesforce API names)",
            details=unknown,
        )


def predicates(kind: str, criteria: Criteria, table, now: dt.datetime) -> list[ColumnElement]:
    """The WHERE conditions selecting the records a job moves (`now` is naive UTC)."""
    conditions: list[ColumnElement] = []
    if kind == "unarchive":
        conditions.append(table.c.restored_at.is_(None))
    if criteria.modified_before is not None:
        conditions.append(table.c.systemmodstamp < _naive_utc(criteria.modified_before))
    if criteria.older_than_days is not None:
        cutoff = now - dt.timedelta(days=criteria.older_than_days)
        conditions.append(table.c.systemmodstamp < cutoff)
    if criteria.archived_before is not None:
        conditions.append(table.c.archived_at < _aware(criteria.archived_before))
    if criteria.archive_job_id is not None:
        conditions.append(table.c.archive_job_id == str(criteria.archive_job_id))
    for name, value in criteria.where.items():
        col = table.c[name]
        if value is None:
            conditions.append(col.is_(None))
        else:
            conditions.append(col == literal(_as_text(value)))
    return conditions


def source_table(kind: str, criteria: Criteria, schema: str, name: str):
    base = ARCHIVE_COLUMNS if kind == "unarchive" else LIVE_COLUMNS
    return lightweight_table(schema, name, sorted({*base, *criteria.where}))


def check_values(conn: Connection, kind: str, criteria: Criteria, schema: str, name: str) -> None:
    """Let Postgres convert every value to its column's type now, so bad ones are a 422."""
    tbl = source_table(kind, criteria, schema, name)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    query = select(literal(1)).select_from(tbl).where(and_(*predicates(kind, criteria, tbl, now)))
    try:
        with conn.begin_nested():
            conn.execute(query.limit(0))
    except DataError as exc:
        message = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise InvalidCriteria(f"criteria value rejected by {schema}.{name}: {message}") from None


def _as_text(value: bool | int | float | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    # Connect stores datetimes as timestamp without time zone, in UTC.
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
