from sqlalchemy import inspect

import warehouse_sql
from core.database import make_engine


def test_migrations_apply_once_and_build_the_published_schema(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    first = warehouse_sql.migrate(engine)
    assert first == [m.name for m in warehouse_sql.migrations()]
    assert warehouse_sql.migrate(engine) == []
    inspector = inspect(engine)
    assert {"account", "contact", "xref", "duplicate_review"} <= set(
        inspector.get_table_names(schema="golden")
    )
    xref_pk = inspector.get_pk_constraint("xref", schema="golden")["constrained_columns"]
    assert xref_pk == ["object", "org", "sfid"]
    contact_fks = inspector.get_foreign_keys("contact", schema="golden")
    assert contact_fks[0]["referred_table"] == "account"
    assert contact_fks[0]["constrained_columns"] == ["account_golden_id"]
    with engine.connect() as conn:
        # Room on each page for updates in place (HOT) of the published tables.
        options = conn.exec_driver_sql(
            "SELECT relname, reloptions FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE nspname = 'golden' "
            "AND relname IN ('account', 'contact', 'xref')"
        ).all()
    assert {name: opts for name, opts in options} == {
        t: ["fillfactor=90"] for t in ("account", "contact", "xref")
    }
    engine.dispose()
