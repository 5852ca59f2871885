"""Planner settings the warehouse sets for statements that touch a few rows."""

from __future__ import annotations

from warehouse.sql import hash_joins_only, index_lookups_only


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


def test_hash_joins_only_hold_for_the_statements_inside(engine):
    def nested_loops(conn) -> str:
        return conn.exec_driver_sql("SELECT current_setting('enable_nestloop')").scalar_one()

    with engine.begin() as conn:
        with hash_joins_only(conn):
            assert nested_loops(conn) == "off"
        assert nested_loops(conn) == "on"
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")  # set before, by someone
        with hash_joins_only(conn):
            pass
        assert nested_loops(conn) == "off"
