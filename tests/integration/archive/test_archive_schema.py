"""The migrations build the schema the code expects: procrastinate's queue as its own
schema.sql defines it, the archive procedures as warehouse_sql/procedures/archive.sql
defines them, and the tables as archive_service.tables describes them."""

from __future__ import annotations

from importlib import resources

import procrastinate
from sqlalchemy import inspect, text

import warehouse_sql
from archive_service import tables
from core.database import make_engine


def procrastinate_catalog(engine) -> dict[str, list]:
    queries = {
        "columns": "SELECT table_name, column_name, data_type, column_default, is_nullable "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name LIKE 'procrastinate%' ORDER BY 1, 2",
        "functions": "SELECT pg_get_functiondef(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%' ORDER BY 1",
        "types": "SELECT t.typname, e.enumlabel FROM pg_enum e "
        "JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname LIKE 'procrastinate%' "
        "ORDER BY 1, e.enumsortorder",
        "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename LIKE 'procrastinate%' ORDER BY 1",
        "triggers": "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgname LIKE 'procrastinate%' ORDER BY 1",
        "constraints": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conname LIKE 'procrastinate%' ORDER BY 1",
    }
    with engine.connect() as conn:
        return {name: conn.execute(text(sql)).all() for name, sql in queries.items()}


def test_queue_migrations_build_procrastinates_own_schema(engine, empty_database_url):
    reference = make_engine(empty_database_url)
    schema_sql = (resources.files(procrastinate) / "sql" / "schema.sql").read_text("utf-8")
    with reference.begin() as conn:
        conn.connection.dbapi_connection.cursor().execute(schema_sql)
    expected = procrastinate_catalog(reference)
    reference.dispose()
    assert expected["functions"], "procrastinate's schema.sql created nothing"
    assert procrastinate_catalog(engine) == expected, (
        "the installed procrastinate's schema differs from the one the migrations build: add "
        "its new files from procrastinate/sql/migrations as warehouse_sql migrations (0033+)"
    )


def archive_functions(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'archive'"
                )
            ).all()
        )


def test_migrations_install_exactly_the_procedures_file(engine):
    migrated = archive_functions(engine)
    procedures = (resources.files(warehouse_sql) / "procedures" / "archive.sql").read_text("utf-8")
    with engine.begin() as conn:
        conn.connection.dbapi_connection.cursor().execute(procedures)
    assert archive_functions(engine) == migrated
    assert "archive.archive_next_batch_v1(text,integer,boolean)" in migrated


def test_tables_module_matches_the_migrated_tables(engine):
    inspector = inspect(engine)
    for table in tables.metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name, schema="archive")}
        assert list(columns) == [c.name for c in table.columns], table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)


def test_archive_migrations_stay_in_their_range():
    names = [m.name for m in warehouse_sql.migrations() if "archive" in m.name and m.version >= 30]
    assert names and all(30 <= int(n[:4]) <= 39 for n in names)
