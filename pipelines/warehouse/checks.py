"""Data contracts on the next publication: each returns the offending ids (empty = pass).

An incremental build rewrote only the golden records of changed sources; the checks
then look at those (the rest passed when they were built), plus whole-table counts.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from pipelines.warehouse.golden import plan_for_few_rows, rebuild_all

SAMPLE = 20


def _incremental(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not rebuild_all(conn)


def _changed(obj: str, column: str) -> str:
    """A condition: `column` holds a golden id this build changed (always true in full)."""
    return f"{column} IN (SELECT golden_id FROM golden_next.changed WHERE object = '{obj}')"


def _ids(engine: Engine, sql: str) -> tuple[int, list[str]]:
    """How many rows `sql` returns, and the first few (one pass over the data)."""
    with engine.connect() as conn:
        if _incremental(engine):
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
    if _incremental(engine):
        records = " UNION ALL ".join(
            f"SELECT ch.object, ch.org, ch.sfid FROM resolve.changed ch JOIN unified.{obj} l "
            f"ON l.org = ch.org AND l.sfid = ch.sfid WHERE ch.object = '{obj}'"
            for obj in ("account", "contact")
        )
    count, sample = _ids(
        engine,
        f"SELECT u.object || '/' || u.org || '/' || u.sfid FROM ({records}) u "
        "WHERE NOT EXISTS (SELECT 1 FROM golden_next.xref x WHERE x.object = u.object "
        "AND x.org = u.org AND x.sfid = u.sfid)",
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
        )
    return count, sample


def xref_orphans(engine: Engine) -> tuple[int, list[str]]:
    """Xref rows whose source record is not live (deleted or never staged)."""
    rows = "golden_next.xref"
    if _incremental(engine):
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
    )


def _scope(engine: Engine, obj: str, column: str) -> str:
    return f"AND {_changed(obj, column)} " if _incremental(engine) else ""


def golden_without_members(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _ids(
        engine,
        f"SELECT g.golden_id FROM golden_next.{obj} g WHERE NOT EXISTS "
        f"(SELECT 1 FROM golden_next.xref x WHERE x.object = '{obj}' "
        f"AND x.golden_id = g.golden_id) {_scope(engine, obj, 'g.golden_id')}",
    )


def members_without_golden(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _ids(
        engine,
        f"SELECT DISTINCT x.golden_id FROM golden_next.xref x WHERE x.object = '{obj}' "
        f"AND NOT EXISTS (SELECT 1 FROM golden_next.{obj} g WHERE g.golden_id = x.golden_id) "
        f"{_scope(engine, obj, 'x.golden_id')}",
    )


def golden_without_name(engine: Engine, obj: str) -> tuple[int, list[str]]:
    column = "name"
    return _ids(
        engine,
        f"SELECT golden_id FROM golden_next.{obj} WHERE ({column} IS NULL OR "
        f"btrim({column}) = '') {_scope(engine, obj, 'golden_id')}",
    )


def contact_accounts_missing(engine: Engine) -> tuple[int, list[str]]:
    return _ids(
        engine,
        "SELECT c.golden_id FROM golden_next.contact c WHERE c.account_golden_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM golden_next.account a "
        f"WHERE a.golden_id = c.account_golden_id) {_scope(engine, 'contact', 'c.golden_id')}",
    )
