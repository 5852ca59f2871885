"""Helpers for composing SQL safely: identifiers quoted by the driver's dialect."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import IO

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import quoted_name


def ident(conn: Connection, *parts: str) -> str:
    """A (schema-)qualified identifier, each part quoted."""
    prep = conn.dialect.identifier_preparer
    return ".".join(prep.quote(quoted_name(p, quote=True)) for p in parts)


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


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Bulk-load `frame[columns]` into `table` (already quoted) with COPY ... CSV."""
    if frame.empty:
        return
    buffer = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    copy_in(
        conn,
        f"COPY {table} ({idents(conn, columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
        buffer,
    )


def plan_for_few_rows(conn: Connection) -> None:
    """An incremental build touches a few thousand of a million rows: have the planner
    look them up by index (random reads cost about what sequential ones do on SSDs)
    rather than hash whole tables, for the rest of this transaction."""
    conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
