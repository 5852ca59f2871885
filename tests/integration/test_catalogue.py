"""The migrated tables hold what the object catalogue declares: the tables the
migrations made for accounts and contacts have exactly the columns and types
`warehouse.tables` would create from their declarations (so an object declared later
gets the same shapes), and text fields are at their Salesforce length."""

from __future__ import annotations

from sqlalchemy import text

from core.catalogue import CATALOGUE
from warehouse.tables import LAYERS, columns


def _columns(engine, schema: str, table: str) -> dict[str, str]:
    """Column -> its type as `format_type` writes it (varchar(80), character(2), ...)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 "
                "AND NOT a.attisdropped"
            ),
            {"table": f"{schema}.{table}"},
        ).all()
    return dict(rows)


_SPELLED = {
    "text": "text",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "double precision": "double precision",
    "integer": "integer",
    "boolean": "boolean",
    "char(2)": "character(2)",
    "char(3)": "character(3)",
}


def _as_postgres_writes_it(declared: str) -> str:
    sql_type = declared.split(" REFERENCES")[0].removesuffix(" NOT NULL")
    if sql_type.startswith("varchar("):
        return sql_type.replace("varchar", "character varying")
    return _SPELLED[sql_type]


def test_the_migrated_tables_are_what_the_catalogue_declares(engine):
    for obj, spec in CATALOGUE.items():
        for layer in LAYERS:
            migrated = _columns(engine, layer, obj)
            for name, declared in columns(spec, layer).items():
                where = f"{layer}.{obj}.{name}"
                assert name in migrated, where
                assert migrated[name] == _as_postgres_writes_it(declared), where
            if layer == "golden":
                assert set(_columns(engine, "golden_next", obj)) == set(migrated), obj


def test_text_fields_are_at_their_salesforce_length(engine):
    for obj, spec in CATALOGUE.items():
        unified = _columns(engine, "unified", obj)
        for field in spec.unified_specs:
            if field.length is not None and field.kind not in ("country_code", "currency"):
                assert unified[field.name] == f"character varying({field.length})", field.name
