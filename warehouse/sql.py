"""Helpers for composing SQL safely: identifiers quoted by the driver's dialect."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import IO

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy import text as sql_text
from sqlalchemy.sql import quoted_name


def ident(conn: Connection, *parts: str) -> str:
    """A (schema-)qualified identifier, each part quoted."""
    prep = conn.dialect.identifier_preparer
    return ".".join(prep.quote(quoted_name(p, quote=True)) for p in parts)


def newest_change(conn: Connection) -> int:
    """The last change sequence number handed out (0 before the first: a new sequence's
    last_value already reads 1, which the first change will still be given)."""
    return int(
        conn.execute(
            sql_text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM org360.change_seq")
        ).scalar_one()
    )


def idents(conn: Connection, names: Iterable[str]) -> str:
    return ", ".join(ident(conn, n) for n in names)


def copy_in(conn: Connection, statement: str, stream: IO) -> None:
    """Run `COPY ... FROM STDIN` reading `stream`, on this connection's transaction."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(statement, stream)
    finally:
        cursor.close()


def copy_out(conn: Connection, query: str, params: dict, options: str, stream: IO) -> None:
    """Write the rows of `query` to `stream` with `COPY (query) TO STDOUT WITH (options)`;
    COPY takes no parameters, so the driver binds them into the query (mogrify)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        bound = cursor.mogrify(query, params).decode()
        cursor.copy_expert(f"COPY ({bound}) TO STDOUT WITH ({options})", stream)
    finally:
        cursor.close()


def frame_csv(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """`frame[columns]` as the CSV `copy_csv` loads (nulls as \\N)."""
    if frame.empty:
        return ""
    buffer = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buffer, index=False, header=False, na_rep="\\N")
    return buffer.getvalue()


def copy_csv(conn: Connection, table: str, columns: Sequence[str], csv: str) -> None:
    """Bulk-load `frame_csv`'s text into `table` (already quoted)."""
    if not csv:
        return
    copy_in(
        conn,
        f"COPY {table} ({idents(conn, columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
        io.StringIO(csv),
    )


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Bulk-load `frame[columns]` into `table` (already quoted) with COPY ... CSV."""
    copy_csv(conn, table, columns, frame_csv(frame, columns))


# PostgreSQL's binary COPY format: a signature, flags and header extension length, then
# rows (a field count, each field's length and bytes), then -1.
COPY_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_BINARY_TRAILER = struct.pack("!h", -1)


def copy_binary(
    conn: Connection,
    table: str,
    columns: Mapping[str, np.ndarray],
    text: tuple[str, Sequence[str]] | None = None,
) -> None:
    """Bulk-load fixed-width columns (numpy integers, floats or booleans, each of its
    column's exact width: int64 for bigint, int16 for smallint) and optionally one
    text or json column, last, into `table` (already quoted) with binary COPY.

    The fixed part of every row is laid out by numpy; only the text is joined per
    row. Nothing is formatted or parsed as text on either side."""
    names = list(columns) + ([text[0]] if text else [])
    rows = len(next(iter(columns.values())))
    if rows == 0:
        return
    layout: list[tuple[str, str | np.dtype]] = [("count", ">i2")]
    for index, values in enumerate(columns.values()):
        kind = values.dtype
        layout += [(f"length{index}", ">i4"), (f"value{index}", kind.newbyteorder(">"))]
    if text:
        layout.append(("text_length", ">i4"))
    data = np.empty(rows, dtype=np.dtype(layout))
    data["count"] = len(names)
    for index, values in enumerate(columns.values()):
        data[f"length{index}"] = values.dtype.itemsize
        data[f"value{index}"] = values
    if text is None:
        payload = [data.tobytes()]
    else:
        encoded = [value.encode() for value in text[1]]
        data["text_length"] = [len(value) for value in encoded]
        fixed, size = memoryview(data.tobytes()), data.dtype.itemsize
        payload = [
            part for i in range(rows) for part in (fixed[i * size : (i + 1) * size], encoded[i])
        ]
    stream = io.BytesIO(b"".join([COPY_BINARY_HEADER, *payload, COPY_BINARY_TRAILER]))
    copy_in(conn, f"COPY {table} ({idents(conn, names)}) FROM STDIN WITH (FORMAT binary)", stream)


def read_query(
    conn: Connection, query: str, params: dict | None = None, text: Sequence[str] = ()
) -> pd.DataFrame:
    """The rows of `query`, read with COPY and parsed by pandas' C reader (no Python
    object per row); numbers come back as numpy columns, nulls as NaN, and the `text`
    columns as strings whatever they look like."""
    buffer = io.StringIO()
    copy_out(conn, query, params or {}, "FORMAT csv, HEADER", buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype={column: str for column in text})


def read_int64_column(conn: Connection, query: str, params: dict | None = None) -> np.ndarray:
    """The one bigint column `query` returns, read with COPY."""
    return read_query(conn, query, params).iloc[:, 0].to_numpy(dtype=np.int64)


# The planner settings that leave index lookups as the only way to join.
_INDEX_LOOKUPS = {"enable_hashjoin": "off", "enable_mergejoin": "off"}


def _set_local(conn: Connection, settings: Mapping[str, str]) -> None:
    """Settings for the rest of this transaction, in one statement."""
    conn.exec_driver_sql(
        "SELECT set_config(name, value, true) FROM unnest(%(names)s, %(values)s) "
        "AS s (name, value)",
        {"names": list(settings), "values": list(settings.values())},
    )


def join_by_index_lookups(conn: Connection) -> None:
    """For the rest of this transaction, join row by row through indexes: for tens of
    thousands of rows out of a million, the planner still hashes whole tables (a
    third slower here), though each row is a few index lookups away."""
    _set_local(conn, _INDEX_LOOKUPS)


@contextmanager
def planner_settings(conn: Connection, settings: Mapping[str, str]) -> Iterator[None]:
    """The planner `settings` for the statements inside only: afterwards they are as
    they were (for the rest of the transaction), not reset to the defaults."""
    before = dict(
        conn.exec_driver_sql(
            "SELECT name, current_setting(name) FROM unnest(%(names)s) AS name",
            {"names": list(settings)},
        ).all()
    )
    _set_local(conn, settings)
    yield
    _set_local(conn, before)


def index_lookups_only(conn: Connection) -> AbstractContextManager[None]:
    """`join_by_index_lookups` for the statements inside only."""
    return planner_settings(conn, _INDEX_LOOKUPS)


def hash_joins_only(conn: Connection) -> AbstractContextManager[None]:
    """Join by hashing, not by a lookup per row, for the statements inside. For whole
    builds that join every record to its parents' xref rows: the planner counts a
    record's org and sfid as independent and expects a twentieth of the rows, then
    looks each parent up in the index, half a million times per join."""
    return planner_settings(conn, {"enable_nestloop": "off"})


def secondary_indexes(conn: Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint."""
    return [
        (row.indexname, row.indexdef)
        for row in conn.execute(
            sql_text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = :schema AND i.tablename = :table "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = to_regclass(quote_ident(i.schemaname) || '.' || "
                "quote_ident(i.indexname)))"
            ),
            {"schema": schema, "table": table},
        )
    ]


@contextmanager
def indexes_built_after(conn: Connection, schema: str, table: str) -> Iterator[None]:
    """Bulk-load the table inside without its secondary indexes, then build them
    again: one sorted build costs a fraction of inserting every row into them in
    random order. In the caller's transaction; nobody sees the table without them."""
    indexes = secondary_indexes(conn, schema, table)
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {ident(conn, schema, name)}")
    yield
    for _, definition in indexes:
        conn.exec_driver_sql(definition)


@contextmanager
def bulk_loaded(conn: Connection, schema: str, table: str) -> Iterator[None]:
    """Fill an emptied table inside without any index, its primary key's too, then
    build them: golden ids are hashes, and inserting a million of them one by one
    touches index pages all over; one sorted build does not. Foreign keys that refer
    to its primary key are dropped first (`foreign_keys_checked_after`)."""
    qualified = ident(conn, schema, table)
    primary = conn.execute(
        sql_text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'p' AND conrelid = to_regclass(:table)"
        ),
        {"table": qualified},
    ).first()
    if primary is not None:
        conn.exec_driver_sql(f"ALTER TABLE {qualified} DROP CONSTRAINT {ident(conn, primary[0])}")
    with indexes_built_after(conn, schema, table):
        yield
    if primary is not None:
        conn.exec_driver_sql(
            f"ALTER TABLE {qualified} ADD CONSTRAINT {ident(conn, primary[0])} {primary[1]}"
        )


def foreign_keys(conn: Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's foreign keys."""
    return [
        (row.conname, row.definition)
        for row in conn.execute(
            sql_text(
                "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = to_regclass(:table) ORDER BY conname"
            ),
            {"table": ident(conn, schema, table)},
        )
    ]


@contextmanager
def foreign_keys_checked_after(
    conn: Connection, schema: str, tables: Sequence[str]
) -> Iterator[None]:
    """Bulk-load the tables inside without their foreign keys, then add them again:
    adding one checks every row in a single join, where a deferred key queues a check
    per inserted row. Dropping a key locks the tables it joins until commit: for tables
    nobody reads yet (a first publication)."""
    keys = {table: foreign_keys(conn, schema, table) for table in tables}
    for table, constraints in keys.items():
        for name, _ in constraints:
            conn.exec_driver_sql(
                f"ALTER TABLE {ident(conn, schema, table)} DROP CONSTRAINT {ident(conn, name)}"
            )
    yield
    for table, constraints in keys.items():
        for name, definition in constraints:
            conn.exec_driver_sql(
                f"ALTER TABLE {ident(conn, schema, table)} "
                f"ADD CONSTRAINT {ident(conn, name)} {definition}"
            )


def plan_for_few_rows(conn: Connection) -> None:
    """An incremental build touches a few thousand of a million rows: have the planner
    look them up by index (random reads cost about what sequential ones do on SSDs)
    rather than hash whole tables, for the rest of this transaction."""
    conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
