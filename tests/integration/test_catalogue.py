"""The migrated tables hold what the object catalogue declares: every field staged,
unified and (where golden) published, text fields at their Salesforce length."""

from __future__ import annotations

from sqlalchemy import text

from core.catalogue import CATALOGUE


def _columns(engine, schema: str, table: str) -> dict[str, int | None]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT column_name, character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = :schema AND table_name = :table"
            ),
            {"schema": schema, "table": table},
        ).all()
    return dict(rows)


def test_the_tables_hold_every_field_of_the_catalogue(engine):
    for obj, spec in CATALOGUE.items():
        staged = _columns(engine, "staging", obj)
        assert set(spec.source_fields) <= set(staged), obj
        unified = _columns(engine, "unified", obj)
        golden = _columns(engine, "golden", obj)
        for field in spec.fields:
            where = f"{obj}.{field.name}"
            assert field.name in unified, where
            if field.length is not None:
                assert unified[field.name] == field.length, where
            if field.golden:
                assert field.name in golden, where
                assert golden[field.name] == unified[field.name], where
