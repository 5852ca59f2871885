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
        # none of any other object (the xref counted in one pass, by object).
        live = " UNION ALL ".join(
            f"SELECT CAST('{obj}' AS text) AS o, (SELECT count(*) FROM unified.{obj}) AS live"
            for obj in OBJECTS
        )
        count, sample = _ids(
            engine,
            "SELECT COALESCE(l.o, x.o) || ': ' || COALESCE(l.live, 0) || ' live records, ' "
            "|| COALESCE(x.xref, 0) || ' in xref' "
            f"FROM ({live}) l FULL JOIN (SELECT CAST(object AS text) AS o, count(*) AS xref "
            "FROM golden_next.xref GROUP BY object) x ON x.o = l.o "
            "WHERE COALESCE(l.live, 0) <> COALESCE(x.xref, 0)",
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
            "(SELECT x.object, x.org, x.sfid FROM resolve.changed ch JOIN golden_next.xref x "
            "ON (x.object, x.org, x.sfid) = (ch.object, ch.org, ch.sfid) "
            "UNION SELECT x.object, x.org, x.sfid FROM golden_next.changed g "
            "JOIN golden_next.xref x ON x.golden_id = g.golden_id)"
        )
    # Object by object: each one's rows looked up in its own table only.
    key = "x.object || '/' || x.org || '/' || x.sfid"
    orphans = [
        f"SELECT {key} FROM x WHERE x.object = '{obj}' AND NOT EXISTS "
        f"(SELECT 1 FROM unified.{obj} u WHERE u.org = x.org AND u.sfid = x.sfid)"
        for obj in OBJECTS
    ]
    orphans.append(f"SELECT {key} FROM x WHERE x.object NOT IN ({_QUOTED_OBJECTS})")
    # A build's few rows gathered once; a whole xref read by each object's part.
    materialized = "MATERIALIZED " if scoped else ""
    return _ids(
        engine,
        f"WITH x AS {materialized}(SELECT object, org, sfid FROM {rows} r) "
        + " UNION ALL ".join(orphans),
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
