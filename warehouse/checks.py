"""Data contracts on the next publication: each returns the offending ids (empty = pass).

An incremental build rewrote only the golden records of changed sources; the checks
then look at those (the rest passed when they were built), plus whole-table counts.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from core.catalogue import OBJECTS
from warehouse.golden import rebuild_all
from warehouse.sql import plan_for_few_rows

SAMPLE = 20


def _incremental(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not rebuild_all(conn)


def _ids(engine: Engine, sql: str, scoped: bool) -> tuple[int, list[str]]:
    """How many rows `sql` returns, and the first few (one pass over the data)."""
    with engine.connect() as conn:
        if scoped:
            plan_for_few_rows(conn)
        rows = conn.execute(
            text(f"SELECT o.*, count(*) OVER () FROM ({sql}) AS o LIMIT {SAMPLE}")
        ).all()
    return (rows[0][-1] if rows else 0), [str(r[0]) for r in rows]


def xref_missing_records(engine: Engine) -> tuple[int, list[str]]:
    """Live unified records with no row in the next xref."""
    records = (
        "SELECT 'account' AS object, org, sfid FROM unified.account"
        " UNION ALL SELECT 'contact', org, sfid FROM unified.contact"
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
        # Whole-table guard: as many xref rows as live records, object by object.
        count, sample = _ids(
            engine,
            "SELECT o || ': ' || live || ' live records, ' || xref || ' in xref' FROM ("
            "SELECT 'account' AS o, (SELECT count(*) FROM unified.account) AS live, "
            "(SELECT count(*) FROM golden_next.xref WHERE object = 'account') AS xref "
            "UNION ALL SELECT 'contact', (SELECT count(*) FROM unified.contact), "
            "(SELECT count(*) FROM golden_next.xref WHERE object = 'contact')) c "
            "WHERE live <> xref",
            scoped,
        )
    return count, sample


def xref_orphans(engine: Engine) -> tuple[int, list[str]]:
    """Xref rows whose source record is not live (deleted or never staged)."""
    rows = "golden_next.xref"
    scoped = _incremental(engine)
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
        f"SELECT x.object || '/' || x.org || '/' || x.sfid FROM {rows} x "
        "WHERE NOT EXISTS (SELECT 1 FROM unified.account u WHERE x.object = 'account' "
        "AND u.org = x.org AND u.sfid = x.sfid) "
        "AND NOT EXISTS (SELECT 1 FROM unified.contact u WHERE x.object = 'contact' "
        "AND u.org = x.org AND u.sfid = x.sfid)",
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


# Golden records whose members gave no name: they show a stand-in (an e-mail, a
# domain, org/sfid).
_NAMED_BY_STAND_IN = {
    "account": "NOT (provenance ? 'name')",
    "contact": "first_name IS NULL AND last_name IS NULL",
}


def golden_named_by_stand_in(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _scoped_ids(
        engine,
        obj,
        f"SELECT golden_id || ' (' || name || ')' FROM golden_next.{obj} "
        f"WHERE {_NAMED_BY_STAND_IN[obj]}",
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


def contact_accounts_missing(engine: Engine) -> tuple[int, list[str]]:
    return _scoped_ids(
        engine,
        "contact",
        "SELECT c.golden_id FROM golden_next.contact c WHERE c.account_golden_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM golden_next.account a "
        "WHERE a.golden_id = c.account_golden_id)",
        "c.golden_id",
    )
