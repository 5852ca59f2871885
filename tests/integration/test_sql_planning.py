"""Planner settings the warehouse sets for statements that touch a few rows."""

from __future__ import annotations

from warehouse.sql import index_lookups_only


def _joins(conn) -> tuple[str, str]:
    return tuple(
        conn.exec_driver_sql(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        ).one()
    )


def test_index_lookups_only_hold_for_the_statements_inside(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")  # set before, by someone
        with index_lookups_only(conn):
            assert _joins(conn) == ("off", "off")
        assert _joins(conn) == ("on", "off")  # as they were, not the defaults
    with engine.connect() as conn:
        assert _joins(conn) == ("on", "on")  # nothing outlives the transaction
