"""SQLAlchemy Core views of the archive schema (0030_archive_jobs.sql) and of the
tables org360 reads column lists from. A test checks these match the migrations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import BIGINT, JSONB

SCHEMA = "archive"
metadata = MetaData(schema=SCHEMA)

job = Table(
    "job",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("org", String(40), nullable=False),
    Column("object", String(16), nullable=False),
    Column("source_schema", String(63), nullable=False),
    Column("criteria", JSONB),
    Column("selection_resolved", Boolean, nullable=False),
    Column("status", String(10), nullable=False),
    Column("total", Integer),
    Column("processed", Integer, nullable=False),
    Column("counts", JSONB, nullable=False),
    Column("skipped_without_sfid", Integer, nullable=False),
    Column("error", Text),
    Column("requested_by", String(255)),
    Column("callback_url", Text),
    Column("callback_status", String(10)),
    Column("callback_attempts", Integer, nullable=False),
    Column("callback_error", Text),
    Column("callback_next_at", DateTime(timezone=True)),
    Column("queue_job_id", BIGINT),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

job_record = Table(
    "job_record",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("sfid", String(18), primary_key=True),
    Column("outcome", String(24)),
    Column("detail", Text),
)

archived_object = Table(
    "archived_object",
    metadata,
    Column("org", String(40), primary_key=True),
    Column("object", String(16), primary_key=True),
    Column("source_schema", String(63), nullable=False),
    Column("table_name", String(63), nullable=False),
    Column("view_columns", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def archive_table_name(org: str, obj: str) -> str:
    return f"{org}_{obj}"


def table_columns(conn: Connection, schema: str, name: str) -> dict[str, str]:
    """Column name -> SQL type of a table, in column order; empty if it does not exist."""
    rows = conn.execute(
        text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(quote_ident(:schema) || '.' || quote_ident(:name)) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        {"schema": schema, "name": name},
    )
    return {row[0]: row[1] for row in rows}


def lightweight_table(schema: str, name: str, columns: list[str]):
    """A Core table for a table whose columns are only known at run time (names are quoted)."""
    return table(name, *(column(c) for c in columns), schema=schema)
