"""Publish: make `golden_next` what readers of `golden` see, in one transaction.

The published tables are updated by difference (delete what is gone, insert what
is new, update what changed) rather than swapped, so their indexes, grants and
the OData service's prepared queries survive, an incremental run writes little,
and readers see the old state or the new one, never a mix (MVCC).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, inspect, text

from core.catalogue import OBJECTS
from warehouse.golden import rebuild_all
from warehouse.sql import (
    bulk_loaded,
    foreign_keys_checked_after,
    ident,
    index_lookups_only,
    indexes_built_after,
    plan_for_few_rows,
)

# Columns the publication manages itself rather than copying from golden_next.
_BOOKKEEPING = ("created_at", "updated_at")

# Each published table and its key: the objects' golden records (parents first), then
# the tables of every object.
TABLES: dict[str, tuple[str, ...]] = {
    **{obj: ("golden_id",) for obj in OBJECTS},
    "xref": ("object", "org", "sfid"),
    "duplicate_review": ("review_id",),
    "rejected_record": ("object", "org", "sfid"),
    "account_summary": ("golden_id",),
    "pipeline_by_month": ("row_key",),
}
# Tables compared whole even by an incremental publication: small ones.
_ALWAYS_WHOLE = frozenset({"rejected_record"})


class NextPublicationMissing(RuntimeError):
    """golden_next holds nothing to publish while there are records: refused, so the
    published tables are not emptied."""


# Live records of any object (rejected ones leave unified: each of these is in the xref).
_ANY_LIVE_RECORD = " OR ".join(f"EXISTS (SELECT 1 FROM unified.{obj})" for obj in OBJECTS)


def _refuse_a_missing_next_publication(conn: Connection) -> None:
    """The next publication's tables are unlogged: a crash or a failover empties them.
    Published as found, that would empty `golden` too (a run's blocking checks catch
    it, but a publication can be asked for alone)."""
    if conn.execute(
        text(f"SELECT NOT EXISTS (SELECT 1 FROM golden_next.xref) AND ({_ANY_LIVE_RECORD})")
    ).scalar():
        raise NextPublicationMissing(
            "nothing to publish: golden_next.xref is empty while unified holds live "
            "records (a server crash or a failover empties the next publication's "
            "tables, or it was never built). The published tables are left as they "
            "were; `org360 run` builds the next publication again."
        )


@dataclass
class PublishReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    incremental: bool = False


def _columns(conn: Connection, table: str) -> list[str]:
    cols = [c["name"] for c in inspect(conn).get_columns(table, schema="golden")]
    return [c for c in cols if c not in _BOOKKEEPING]


_CHANGED_IDS = "(SELECT golden_id FROM golden_next.changed)"

# The keys of the rows an incremental publication compares in each table: those of
# changed golden records (golden ids are unique across objects: each its own prefix).
# Catalogue names (checked lower-case words), quoted for the array below.
_REVIEWED_IDS = "(SELECT golden_id FROM golden_next.review_scope)"
_SCOPES: dict[str, str] = {
    **{obj: "SELECT golden_id FROM golden_next.changed" for obj in OBJECTS},
    "xref": "SELECT object, org, sfid FROM xref_scope",
    # And the pairs of golden records a review rule looked at again (warehouse.review_queue).
    "duplicate_review": " UNION ".join(
        f"SELECT review_id FROM {schema}.duplicate_review "
        f"WHERE golden_id_a IN {_CHANGED_IDS} OR golden_id_b IN {_CHANGED_IDS} "
        f"OR golden_id_a IN {_REVIEWED_IDS} OR golden_id_b IN {_REVIEWED_IDS}"
        for schema in ("golden", "golden_next")
    ),
    # The report rows of the accounts incremental builds rewrote (warehouse.reports).
    "account_summary": "SELECT DISTINCT golden_account_id AS golden_id "
    "FROM golden_next.report_scope WHERE golden_account_id IS NOT NULL",
    "pipeline_by_month": " UNION ".join(
        f"SELECT row_key FROM {schema}.pipeline_by_month "
        "WHERE golden_account_id IN (SELECT golden_account_id FROM golden_next.report_scope) "
        f"UNION SELECT row_key FROM {schema}.pipeline_by_month WHERE golden_account_id IS NULL "
        "AND EXISTS (SELECT 1 FROM golden_next.report_scope WHERE golden_account_id IS NULL)"
        for schema in ("golden", "golden_next")
    ),
}


def _xref_scope(conn: Connection) -> None:
    """The xref rows an incremental publication compares: changed source records and
    every member of a changed golden record. (A record that left a golden record holds
    another changed one now, or is gone and changed itself.)"""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE xref_scope ON COMMIT DROP AS "
        "SELECT object, org, sfid FROM resolve.changed "
        "UNION SELECT x.object, x.org, x.sfid FROM golden_next.changed c "
        "JOIN golden_next.xref x ON x.golden_id = c.golden_id"
    )
    conn.exec_driver_sql("ANALYZE xref_scope")


def _empty_tables(conn: Connection) -> set[str]:
    return {
        table
        for table in TABLES
        if not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM golden.{table})")).scalar()
    }


def _apply(
    conn: Connection,
    table: str,
    keys: tuple[str, ...],
    report: PublishReport,
    full: bool,
    empty: set[str],
) -> None:
    if not full and table not in _ALWAYS_WHOLE:
        _diff_apply(conn, table, keys, report, _SCOPES[table])
        return
    if table not in empty:
        _diff_apply(conn, table, keys, report)
        return
    # A table published for the first time (an object added since) is filled empty:
    # building the (trigram) indexes once afterwards is several times faster than
    # updating them row by row, and nobody can be reading rows that are not there
    # yet. So with foreign keys, where every table they join was empty too (dropping
    # one locks the tables it joins until commit: nobody reads those either).
    keys_after = (
        foreign_keys_checked_after(conn, "golden", [table])
        if _referenced(conn, table) <= empty
        else contextlib.nullcontext()
    )
    with keys_after, indexes_built_after(conn, "golden", table):
        _diff_apply(conn, table, keys, report)
        # An index cannot be built under pending (deferred) foreign-key checks: run
        # them now; every table they refer to is already published.
        conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")


def _first_publication(conn: Connection, report: PublishReport) -> None:
    """Every table empty: load each without indexes, primary key or foreign keys, then
    build them, check the keys in one join each and take fresh statistics (the next,
    incremental, build plans with them)."""
    with (
        foreign_keys_checked_after(conn, "golden", list(TABLES)),
        # The word index the golden names' triggers fill (migration 0021) is empty
        # too, and loaded the same way (its inserts skip conflicts: there are none).
        bulk_loaded(conn, "golden", "search_word"),
        bulk_loaded(conn, "golden", "search_posting"),
    ):
        for table, key in TABLES.items():
            with bulk_loaded(conn, "golden", table):
                _fill(conn, table, key, report)
    for table in TABLES:
        conn.exec_driver_sql(f"ANALYZE {ident(conn, 'golden', table)}")


def _referenced(conn: Connection, table: str) -> set[str]:
    """The golden tables the table's foreign keys refer to."""
    return set(
        conn.execute(
            text(
                "SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.confrelid "
                "WHERE k.contype = 'f' AND k.conrelid = to_regclass(:table)"
            ),
            {"table": f"golden.{table}"},
        ).scalars()
    )


def _diff_apply(
    conn: Connection,
    table: str,
    keys: tuple[str, ...],
    report: PublishReport,
    scope: str | None = None,
) -> None:
    """Make golden.<table> equal golden_next.<table>: everywhere, or for the rows whose
    keys `scope` (a query) returns."""
    columns = _columns(conn, table)
    values = [c for c in columns if c not in keys]
    match = " AND ".join(f"g.{k} = n.{k}" for k in keys)
    differs = " OR ".join(f"g.{c} IS DISTINCT FROM n.{c}" for c in values)
    sets = ", ".join(f"{c} = n.{c}" for c in values)
    col_list = ", ".join(columns)
    new_values = ", ".join("n." + c for c in columns)
    if scope is None:
        # An UPDATE that skips unchanged rows, then an INSERT of the new ones: unlike
        # INSERT ... ON CONFLICT DO UPDATE, an unchanged row is not even locked.
        deleted, updated, inserted = _write(
            conn,
            table,
            keys[0],
            f"DELETE FROM golden.{table} g "
            f"WHERE NOT EXISTS (SELECT 1 FROM golden_next.{table} n WHERE {match})",
            f"UPDATE golden.{table} g SET {sets}, updated_at = now() "
            f"FROM golden_next.{table} n WHERE {match} AND ({differs})",
            f"INSERT INTO golden.{table} ({col_list}) SELECT {new_values} "
            f"FROM golden_next.{table} n "
            f"WHERE NOT EXISTS (SELECT 1 FROM golden.{table} g WHERE {match})",
        )
    else:
        # The scope query may hash (the review queue's has no index to use); what
        # follows is index lookups, a few for each key in scope.
        conn.exec_driver_sql("DROP TABLE IF EXISTS publish_keys, publish_rows")
        # In key order: the lookups then walk each table's key index from one end to
        # the other, each page read once, rather than at random.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE publish_keys ON COMMIT DROP AS "
            f"SELECT * FROM ({scope}) s ORDER BY {', '.join(keys)}"
        )
        conn.exec_driver_sql("ANALYZE publish_keys")
        to_next = " AND ".join(f"n.{c} = r.{c}" for c in keys)
        with index_lookups_only(conn):
            _scoped_rows(conn, table, keys, differs)
            deleted, updated, inserted = _write(
                conn,
                table,
                keys[0],
                f"DELETE FROM golden.{table} g USING publish_rows r "
                "WHERE g.ctid = r.published AND NOT r.wanted",
                f"UPDATE golden.{table} g SET {sets}, updated_at = now() "
                f"FROM publish_rows r JOIN golden_next.{table} n ON {to_next} "
                "WHERE g.ctid = r.published AND r.differs",
                f"INSERT INTO golden.{table} ({col_list}) SELECT {new_values} "
                f"FROM publish_rows r JOIN golden_next.{table} n ON {to_next} "
                "WHERE r.published IS NULL AND r.wanted",
            )
    report.deleted[table] = deleted
    report.inserted[table] = inserted
    report.updated[table] = updated
    if scope is None:
        # Counting a million rows takes a while; an incremental publication skips it.
        report.rows[table] = conn.execute(text(f"SELECT count(*) FROM golden.{table}")).scalar_one()


def _write(
    conn: Connection, table: str, key: str, delete: str, update: str, insert: str
) -> tuple[int, int, int]:
    """Run the three statements; how many rows each deleted, updated and inserted."""
    return (
        _noted(conn, table, delete, f"g.{key}", appeared=False),
        conn.execute(text(update)).rowcount,
        _noted(conn, table, insert, key, appeared=True),
    )


def _noted(conn: Connection, table: str, statement: str, returning: str, appeared: bool) -> int:
    """Run an INSERT or DELETE; how many rows it wrote. The golden records that appear
    or disappear go to `published_ids`, from which the id registry issues or retires
    them (in SQL: a first publication has millions)."""
    if table not in OBJECTS:
        return conn.execute(text(statement)).rowcount
    return conn.execute(
        text(
            f"WITH written AS ({statement} RETURNING {returning} AS golden_id) "
            "INSERT INTO published_ids (object, golden_id, appeared) "
            "SELECT :object, golden_id, :appeared FROM written"
        ),
        {"object": table, "appeared": appeared},
    ).rowcount


def _fill(conn: Connection, table: str, keys: tuple[str, ...], report: PublishReport) -> None:
    """Fill an empty golden.<table> with golden_next's rows: nothing to compare (and
    an anti-join against the table being filled, without its key's index, would scan
    its new rows again for every row)."""
    columns = ", ".join(_columns(conn, table))
    inserted = _noted(
        conn,
        table,
        f"INSERT INTO golden.{table} ({columns}) SELECT {columns} FROM golden_next.{table}",
        keys[0],
        appeared=True,
    )
    report.inserted[table], report.updated[table], report.deleted[table] = inserted, 0, 0
    report.rows[table] = inserted


def _scoped_rows(conn: Connection, table: str, keys: tuple[str, ...], differs: str) -> None:
    """`publish_rows`: each key of `publish_keys` looked up once in either table. The
    statements then reach the published row by its address (ctid), which only this
    transaction, holding the publisher's lock, can change meanwhile."""
    on = " AND ".join(f"k.{c} = {{t}}.{c}" for c in keys)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE publish_rows ON COMMIT DROP AS "
        f"SELECT {', '.join('k.' + c for c in keys)}, g.ctid AS published, "
        f"n.{keys[0]} IS NOT NULL AS wanted, "
        f"g.{keys[0]} IS NOT NULL AND n.{keys[0]} IS NOT NULL AND ({differs}) AS differs "
        f"FROM publish_keys k LEFT JOIN golden.{table} g ON {on.format(t='g')} "
        f"LEFT JOIN golden_next.{table} n ON {on.format(t='n')}"
    )
    conn.exec_driver_sql("ANALYZE publish_rows")


def _register(conn: Connection) -> None:
    """The id registry: every published id issued (and not retired), every id no longer
    published retired; only this publication's arrivals and departures can change
    that. An empty registry (a first publication) is filled in one load."""
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM org360.golden_id)")).scalar():
        with bulk_loaded(conn, "org360", "golden_id"):
            conn.exec_driver_sql(
                "INSERT INTO org360.golden_id (golden_id, object) "
                "SELECT golden_id, object FROM published_ids WHERE appeared"
            )
        return
    conn.exec_driver_sql(
        "INSERT INTO org360.golden_id (golden_id, object) "
        "SELECT golden_id, object FROM published_ids WHERE appeared "
        "ON CONFLICT (golden_id) DO UPDATE SET retired_at = NULL "
        "WHERE org360.golden_id.retired_at IS NOT NULL"
    )
    conn.exec_driver_sql(
        "UPDATE org360.golden_id r SET retired_at = now() FROM published_ids p "
        "WHERE NOT p.appeared AND r.golden_id = p.golden_id AND r.retired_at IS NULL"
    )


def publish(engine: Engine, run_started_at: datetime | None = None) -> PublishReport:
    """Publish golden_next. `run_started_at`: when the run that built it began (what
    stewards decided before then is in it), recorded with the publication."""
    report = PublishReport()
    with engine.begin() as conn:
        # One publisher at a time; readers are never blocked (row locks only).
        conn.execute(text("SELECT pg_advisory_xact_lock(360360002)"))
        _refuse_a_missing_next_publication(conn)
        conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")
        full = rebuild_all(conn)
        if not full:
            plan_for_few_rows(conn)
            _xref_scope(conn)
        empty = _empty_tables(conn) if full else set()
        conn.exec_driver_sql(
            "CREATE TEMP TABLE published_ids (object text NOT NULL, golden_id text NOT NULL, "
            "appeared boolean NOT NULL) ON COMMIT DROP"
        )
        # Bulk loads build indexes: with more memory, in one pass (at least 256 MB; a
        # server given more keeps its own).
        conn.exec_driver_sql(
            "SELECT set_config('maintenance_work_mem', '256MB', true) FROM pg_settings "
            "WHERE name = 'maintenance_work_mem' AND setting::bigint < 256 * 1024"
        )
        if empty == set(TABLES):
            _first_publication(conn, report)
        else:
            for table, keys in TABLES.items():
                _apply(conn, table, keys, report, full, empty)
        _register(conn)
        conn.execute(
            text(
                "INSERT INTO org360.publication (run_started_at, incremental, row_counts) "
                "VALUES (COALESCE(:started, now()), :incremental, CAST(:rows AS jsonb))"
            ),
            {"started": run_started_at, "incremental": not full, "rows": json.dumps(report.rows)},
        )
        # Delivered at commit: OData services drop their cached counts.
        conn.execute(text("SELECT pg_notify('org360_publication', '')"))
        # Everything pending is published now.
        conn.exec_driver_sql("DELETE FROM resolve.changed")
        conn.exec_driver_sql("DELETE FROM resolve.rebuild")
        conn.exec_driver_sql("DELETE FROM golden_next.changed")
        conn.exec_driver_sql("DELETE FROM golden_next.report_scope")
        conn.exec_driver_sql("DELETE FROM golden_next.review_scope")
        report.incremental = not full
    return report
