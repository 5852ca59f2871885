"""Heroku Connect-shaped tables that take anything: every column text, sfid neither
required nor unique, so tests can write what a custom app, a legacy import or a
hand-made table puts there."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

from demo.heroku_connect import STANDARD_COLUMNS, quote_ident

# Custom fields mapped to the unified model's fields without a standard column.
CUSTOM_COLUMNS = {"account": ("registration__c",), "contact": ("national_id__c",)}
FIELDS = {
    "account": {"registration_number": "registration__c"},
    "contact": {"national_id": "national_id__c"},
}


def mapped_columns(obj: str) -> tuple[str, ...]:
    return (*STANDARD_COLUMNS[obj], *CUSTOM_COLUMNS[obj])


def create_loose_table(conn: Connection, schema: str, obj: str) -> None:
    q_schema = quote_ident(conn, schema)
    columns = ", ".join(f"{quote_ident(conn, c)} text" for c in mapped_columns(obj))
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {q_schema}")
    conn.exec_driver_sql(
        f"CREATE TABLE {q_schema}.{quote_ident(conn, obj)} (id serial PRIMARY KEY, "
        "sfid text, systemmodstamp timestamp DEFAULT (now() AT TIME ZONE 'UTC'), "
        f"isdeleted boolean, _hc_lastop varchar(32), _hc_err text, {columns})"
    )


def insert_rows(conn: Connection, schema: str, obj: str, rows: Iterable[dict]) -> None:
    """Rows with any of sfid, isdeleted, _hc_lastop and the mapped columns."""
    rows = list(rows)
    if not rows:
        return
    names = ["sfid", "isdeleted", "_hc_lastop", *mapped_columns(obj)]
    table = f"{quote_ident(conn, schema)}.{quote_ident(conn, obj)}"
    conn.execute(
        text(
            f"INSERT INTO {table} ({', '.join(quote_ident(conn, n) for n in names)}) "
            f"VALUES ({', '.join(':p' + str(i) for i in range(len(names)))})"
        ),
        [{f"p{i}": row.get(n) for i, n in enumerate(names)} for row in rows],
    )


def live_keys(conn: Connection, schema: str, obj: str, org: str) -> set[tuple[str, str, str]]:
    """(object, org, sfid) of every live row, sfid cut as the quarantine keeps it."""
    table = f"{quote_ident(conn, schema)}.{quote_ident(conn, obj)}"
    return {
        (obj, org, sfid[:100])
        for (sfid,) in conn.exec_driver_sql(
            f"SELECT DISTINCT sfid FROM {table} WHERE sfid IS NOT NULL AND isdeleted IS NOT TRUE"
        )
    }
