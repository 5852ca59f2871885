"""Each catalogue object's tables, from its declaration.

The numbered migrations created the tables of accounts and contacts (and the test
`tests/integration/test_catalogue.py` keeps them equal to what their declarations
say). An object declared later gets its staging, unified, resolve, golden and
golden_next tables here, and a field declared later on any object gets its columns:
`migrate` runs the migrations, then creates what the catalogue declares and the
database lacks. Nothing that exists is altered or dropped.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

import warehouse_sql
from core.catalogue import CATALOGUE, Field, ObjectSpec
from warehouse.matchers import matcher_for
from warehouse.sql import ident
from warehouse.staging import source_columns
from warehouse_sql import query

log = logging.getLogger(__name__)

# Kinds stored in a type of their own; every other kind is text (varchar(length)).
_TYPES = {
    "date": "date",
    "datetime": "timestamp",
    "number": "double precision",
    "integer": "integer",
    "boolean": "boolean",
    "country_code": "char(2)",
    "currency": "char(3)",
    "sfid": "varchar(18)",
}
# Where a field's columns live, by table; `golden_next.<object>` copies `golden`'s.
LAYERS = ("staging", "unified", "golden")
_MIGRATE_LOCK_ID = 360_360_003


def sql_type(field: Field) -> str:
    if field.kind in _TYPES:
        return _TYPES[field.kind]
    return f"varchar({field.length})" if field.length else "text"


def columns(spec: ObjectSpec, layer: str) -> dict[str, str]:
    """The columns (name -> SQL type) `layer`'s table holds for the object's fields:
    staged as text, unified typed with the matcher's keys, golden as published."""
    if layer == "staging":
        return {name: "text" for name in spec.source_fields}
    if layer == "unified":
        typed = {f.name: sql_type(f) for f in spec.unified_specs}
        return typed | {key: "text" for key in matcher_for(spec.name).match_keys}
    if layer == "golden":
        # An object that is not resolved has one member per golden record: its source.
        golden = (
            {} if spec.resolved else {"org": "varchar(40) NOT NULL", "sfid": "varchar(18) NOT NULL"}
        )
        golden |= {f.name: sql_type(f) for f in spec.fields if f.golden}
        if spec.name_is_a_field:
            golden["name"] += " NOT NULL"
        else:
            golden["name"] = f"varchar({spec.name_length}) NOT NULL"
        # The sfid of its best member in the main org (the config's `main_org`).
        golden["main_org_sfid"] = "varchar(18)"
        for parent, link in spec.parent_links.values():
            golden[link] = (
                f"varchar(18) REFERENCES golden.{parent} (golden_id) DEFERRABLE INITIALLY DEFERRED"
            )
        return golden
    raise ValueError(f"no such layer: {layer}")


def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations, then create the catalogue's missing tables and
    columns; return what was done (migration names, then `created <table>` and
    `added <table>.<column>`)."""
    done = warehouse_sql.migrate(engine)
    with engine.begin() as conn:
        # One process at a time; the others then find everything in place.
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATE_LOCK_ID})
        for spec in CATALOGUE.values():
            done += _ensure(conn, spec)
    for step in done:
        log.info("schema: %s", step)
    return done


def _columns_of(conn: Connection, schema: str, table: str) -> set[str] | None:
    found = source_columns(conn, schema, table)
    return None if found is None else set(found)


def _ensure(conn: Connection, spec: ObjectSpec) -> list[str]:
    obj = spec.name
    if _columns_of(conn, "golden", obj) is None:
        _create(conn, spec)
        return [f"created tables of {obj}", *_index_next(conn, spec)]
    added = []
    for layer in LAYERS:
        have = _columns_of(conn, layer, obj) or set()
        for name, sql in columns(spec, layer).items():
            if name in have:
                continue
            # Added nullable: rows already there have no value until read again.
            sql = sql.replace(" NOT NULL", "")
            tables = [layer] + (["golden_next"] if layer == "golden" else [])
            for schema in tables:
                conn.exec_driver_sql(
                    f"ALTER TABLE {ident(conn, schema, obj)} "
                    f"ADD COLUMN IF NOT EXISTS {ident(conn, name)} {sql}"
                )
            added.append(f"added {layer}.{obj}.{name}")
    return added + _index_next(conn, spec)


def _index_next(conn: Connection, spec: ObjectSpec) -> list[str]:
    """The next publication's index on the column its records are summed by in the
    reports (`summed_by`), where it lacks it."""
    if spec.summed_by is None:
        return []
    name = f"golden_next_{spec.name}_{spec.summed_by}_idx"
    if conn.execute(text("SELECT to_regclass(:name)"), {"name": f"golden_next.{name}"}).scalar():
        return []
    conn.exec_driver_sql(
        f"CREATE INDEX {ident(conn, name)} ON {ident(conn, 'golden_next', spec.name)} "
        f"({ident(conn, spec.summed_by)})"
    )
    return [f"indexed golden_next.{spec.name}.{spec.summed_by}"]


def _declared(conn: Connection, spec: ObjectSpec, layer: str) -> str:
    return "".join(f"{ident(conn, n)} {t},\n    " for n, t in columns(spec, layer).items())


def _create(conn: Connection, spec: ObjectSpec) -> None:
    obj = spec.name
    sql = query(
        "object_tables",
        obj=obj,
        staging=ident(conn, "staging", obj),
        unified=ident(conn, "unified", obj),
        pair=ident(conn, "resolve", f"{obj}_pair"),
        cluster=ident(conn, "resolve", f"{obj}_cluster"),
        golden=ident(conn, "golden", obj),
        golden_next=ident(conn, "golden_next", obj),
        staging_fields=_declared(conn, spec, "staging"),
        unified_fields=_declared(conn, spec, "unified"),
        golden_fields=_declared(conn, spec, "golden"),
        # Names sorted and searched by contains: not for records nobody looks up.
        name_indexes=(
            f"CREATE INDEX ON {ident(conn, 'golden', obj)} (name, golden_id);\n"
            f"CREATE INDEX ON {ident(conn, 'golden', obj)} USING gin (name gin_trgm_ops);"
            if spec.searchable
            else ""
        ),
    )
    if spec.word_index:
        sql += "\n" + query("object_word_index", obj=obj, golden=ident(conn, "golden", obj))
    for field, (_, link) in spec.parent_links.items():
        sql += (
            f"\nCREATE INDEX ON {ident(conn, 'unified', obj)} (org, {ident(conn, field)});"
            f"\nCREATE INDEX ON {ident(conn, 'golden', obj)} ({ident(conn, link)});"
        )
    if not spec.resolved:
        sql += f"\nCREATE UNIQUE INDEX ON {ident(conn, 'golden', obj)} (org, sfid);"
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
