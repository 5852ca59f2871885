"""Data contracts on the next publication: each returns the offending ids (empty = pass).

An incremental build rewrote only the golden records of changed sources; the checks
then look at those (the rest passed when they were built), plus whole-table counts.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from core.catalogue import CATALOGUE, OBJECTS
from warehouse.golden import rebuild_all
from warehouse.sql import plan_for_few_rows
from warehouse_sql import query

SAMPLE = 20
# The catalogue's objects (checked lower-case words) as SQL literals.
_QUOTED_OBJECTS = ", ".join(f"'{obj}'" for obj in OBJECTS)


def _incremental(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not rebuild_all(conn)


def _ids(
    engine: Engine, sql: str, scoped: bool, params: dict | None = None
) -> tuple[int, list[str]]:
    """How many rows `sql` returns, and the first few (one pass over the data)."""
    with engine.connect() as conn:
        if scoped:
            plan_for_few_rows(conn)
        rows = conn.execute(
            text(f"SELECT o.*, count(*) OVER () FROM ({sql}) AS o LIMIT {SAMPLE}"), params or {}
        ).all()
    return (rows[0][-1] if rows else 0), [str(r[0]) for r in rows]


def xref_missing_records(engine: Engine) -> tuple[int, list[str]]:
    """Live unified records with no row in the next xref."""
    records = " UNION ALL ".join(
        f"SELECT CAST('{obj}' AS text) AS object, org, sfid FROM unified.{obj}" for obj in OBJECTS
    )
    scoped = _incremental(engine)
    if scoped:
        records = " UNION ALL ".join(
            f"SELECT ch.object, ch.org, ch.sfid FROM resolve.changed ch JOIN unified.{obj} l "
            f"ON l.org = ch.org AND l.sfid = ch.sfid WHERE ch.object = '{obj}'"
            for obj in OBJECTS
        )
    count, sample = _ids(
        engine,
        f"SELECT u.object || '/' || u.org || '/' || u.sfid FROM ({records}) u "
        "WHERE NOT EXISTS (SELECT 1 FROM golden_next.xref x WHERE x.object = u.object "
        "AND x.org = u.org AND x.sfid = u.sfid)",
        scoped,
    )
    if count == 0:
        # Whole-table guard: as many xref rows as live records, object by object, and
        # (a whole build) none of any other object.
        count, sample = _ids(
            engine,
            "SELECT o || ': ' || live || ' live records, ' || xref || ' in xref' FROM ("
            + " UNION ALL ".join(
                f"SELECT CAST('{obj}' AS text) AS o, "
                f"(SELECT count(*) FROM unified.{obj}) AS live, "
                f"(SELECT count(*) FROM golden_next.xref WHERE object = '{obj}') AS xref"
                for obj in OBJECTS
            )
            # (A whole build's guard stands for the orphans' scan: `xref_orphans`.)
            + (
                ""
                if scoped
                else " UNION ALL SELECT 'other objects', 0, (SELECT count(*) FROM "
                f"golden_next.xref WHERE object NOT IN ({_QUOTED_OBJECTS}))"
            )
            + ") c WHERE live <> xref",
            scoped,
        )
    return count, sample


def xref_orphans(engine: Engine, missing: int) -> tuple[int, list[str]]:
    """Xref rows whose source record is not live (deleted or never staged). `missing`:
    what `xref_missing_records` found. None missing, a whole build's xref holds no
    other row (every live record in it, as many rows as live records of each object
    and none of another, keys unique on both sides): not scanned again."""
    scoped = _incremental(engine)
    if missing == 0 and not scoped:
        return 0, []
    rows = "golden_next.xref"
    if scoped:
        # The rows this build rewrote: changed records, and members of changed golden ids.
        rows = (
            "(SELECT x.* FROM resolve.changed ch JOIN golden_next.xref x "
            "ON (x.object, x.org, x.sfid) = (ch.object, ch.org, ch.sfid) "
            "UNION SELECT x.* FROM golden_next.changed g JOIN golden_next.xref x "
            "ON x.golden_id = g.golden_id)"
        )
    return _ids(
        engine,
        f"SELECT x.object || '/' || x.org || '/' || x.sfid FROM {rows} x WHERE "
        + " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM unified.{obj} u WHERE x.object = '{obj}' "
            "AND u.org = x.org AND u.sfid = x.sfid)"
            for obj in OBJECTS
        ),
        scoped,
    )


def _scoped_ids(engine: Engine, obj: str, sql: str, column: str) -> tuple[int, list[str]]:
    """`_ids` of `sql` (ending in a WHERE clause), limited in an incremental build to the
    golden ids in `column` it changed."""
    scoped = _incremental(engine)
    if scoped:
        sql += (
            f" AND {column} IN (SELECT golden_id FROM golden_next.changed WHERE object = '{obj}')"
        )
    return _ids(engine, sql, scoped)


def golden_without_members(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _scoped_ids(
        engine,
        obj,
        f"SELECT g.golden_id FROM golden_next.{obj} g WHERE NOT EXISTS "
        f"(SELECT 1 FROM golden_next.xref x WHERE x.object = '{obj}' "
        "AND x.golden_id = g.golden_id)",
        "g.golden_id",
    )


def members_without_golden(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _scoped_ids(
        engine,
        obj,
        f"SELECT DISTINCT x.golden_id FROM golden_next.xref x WHERE x.object = '{obj}' "
        f"AND NOT EXISTS (SELECT 1 FROM golden_next.{obj} g WHERE g.golden_id = x.golden_id)",
        "x.golden_id",
    )


def golden_without_name(engine: Engine, obj: str) -> tuple[int, list[str]]:
    """Golden records with no name to show (org360 gives each a stand-in at least)."""
    return _scoped_ids(
        engine,
        obj,
        f"SELECT golden_id FROM golden_next.{obj} WHERE (name IS NULL OR btrim(name) = '')",
        "golden_id",
    )


def golden_named_by_stand_in(engine: Engine, obj: str) -> tuple[int, list[str]]:
    """Golden records whose members gave none of the label's fields: they show a
    stand-in (an e-mail, a domain, org/sfid)."""
    label = ", ".join(f"'{field}'" for field in CATALOGUE[obj].label)
    return _scoped_ids(
        engine,
        obj,
        f"SELECT golden_id || ' (' || name || ')' FROM golden_next.{obj} "
        f"WHERE NOT (provenance ?| ARRAY[{label}])",
        "golden_id",
    )


def rejected_records_in_xref(engine: Engine) -> tuple[int, list[str]]:
    """Quarantined records that also have a golden id (each belongs in one table)."""
    return _ids(
        engine,
        "SELECT r.object || '/' || r.org || '/' || r.sfid FROM golden_next.rejected_record r "
        "JOIN golden_next.xref x ON x.object = r.object AND x.org = r.org AND x.sfid = r.sfid",
        False,
    )


def parent_links_missing(engine: Engine, obj: str, parent: str) -> tuple[int, list[str]]:
    """Golden records of `obj` linked to a golden `parent` that does not exist."""
    link = CATALOGUE[obj].link_to(parent)
    return _scoped_ids(
        engine,
        obj,
        f"SELECT c.golden_id FROM golden_next.{obj} c WHERE c.{link} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM golden_next.{parent} a WHERE a.golden_id = c.{link})",
        "c.golden_id",
    )


def account_summaries_wrong(engine: Engine) -> tuple[int, list[str]]:
    """Account summaries of no golden account, or whose open pipeline, open count or
    open leads differ from their opportunities' and leads' (in an incremental build,
    of the accounts whose report rows it rewrote)."""
    scoped = _incremental(engine)
    return _ids(engine, query("account_summaries_wrong"), scoped, {"everything": not scoped})
