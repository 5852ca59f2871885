"""Helpers for composing SQL safely: identifiers quoted by the driver's dialect."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import quoted_name


def ident(conn: Connection, *parts: str) -> str:
    """A (schema-)qualified identifier, each part quoted."""
    prep = conn.dialect.identifier_preparer
    return ".".join(prep.quote(quoted_name(p, quote=True)) for p in parts)


def idents(conn: Connection, names: Iterable[str]) -> str:
    return ", ".join(ident(conn, n) for n in names)


def copy_frame(conn: Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Bulk-load `frame[columns]` into `table` (already quoted) with COPY ... CSV."""
    if frame.empty:
        return
    buffer = io.StringIO()
    frame.loc[:, list(columns)].to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(
            f"COPY {table} ({idents(conn, columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )
    finally:
        cursor.close()
