"""org360's SQL: numbered migrations, named queries and stored procedures as `.sql` files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import Connection, Engine, text

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant works; it only has to be the same for every org360 process.
_MIGRATION_LOCK_ID = 360_360_001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    folder = resources.files(__package__) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


def query(name: str, **identifiers: str) -> str:
    """A named query from `warehouse_sql/queries/<name>.sql`. Its `{placeholders}` name
    tables that vary (an object's, an org's): `identifiers` fills them with names the
    caller has quoted (`warehouse.sql.ident`); values are always bind parameters."""
    sql = (resources.files(__package__) / "queries" / f"{name}.sql").read_text("utf-8")
    return sql.format(**identifiers) if identifiers else sql


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return their names.

    An advisory lock serialises concurrent callers (a web process and a worker
    starting together), so each migration runs exactly once.
    """
    applied: list[str] = []
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        try:
            conn.commit()
            _ensure_history_table(conn)
            done = set(conn.execute(text("SELECT version FROM public.org360_migration")).scalars())
            conn.commit()
            for migration in migrations():
                if migration.version in done:
                    continue
                with conn.begin():
                    _execute_script(conn, migration.sql)
                    conn.execute(
                        text(
                            "INSERT INTO public.org360_migration (version, name) "
                            "VALUES (:version, :name)"
                        ),
                        {"version": migration.version, "name": migration.name},
                    )
                applied.append(migration.name)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
            conn.commit()
    return applied


def _execute_script(conn: Connection, sql: str) -> None:
    # Straight to the driver without parameters, so '%' in PL/pgSQL (format strings)
    # is not taken for a placeholder.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _ensure_history_table(conn: Connection) -> None:
    with conn.begin():
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS public.org360_migration ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )


def pending(conn: Connection) -> list[str]:
    """The migrations this code has that the database has not had yet."""
    history = conn.execute(text("SELECT to_regclass('public.org360_migration')")).scalar()
    done = (
        set(conn.execute(text("SELECT version FROM public.org360_migration")).scalars())
        if history
        else set()
    )
    return [m.name for m in migrations() if m.version not in done]
