"""Data contracts on the next publication: each returns the offending ids (empty = pass)."""

from __future__ import annotations

from sqlalchemy import Engine, text

SAMPLE = 20


def _ids(engine: Engine, sql: str) -> tuple[int, list[str]]:
    with engine.connect() as conn:
        count = conn.execute(text(f"SELECT count(*) FROM ({sql}) AS offenders")).scalar_one()
        sample = conn.execute(text(f"{sql} LIMIT {SAMPLE}")).scalars().all()
    return count, [str(s) for s in sample]


def xref_missing_records(engine: Engine) -> tuple[int, list[str]]:
    """Live unified records with no row in the next xref."""
    return _ids(
        engine,
        "SELECT u.object || '/' || u.org || '/' || u.sfid FROM ("
        " SELECT 'account' AS object, org, sfid FROM unified.account"
        " UNION ALL SELECT 'contact', org, sfid FROM unified.contact) u "
        "WHERE NOT EXISTS (SELECT 1 FROM golden_next.xref x WHERE x.object = u.object "
        "AND x.org = u.org AND x.sfid = u.sfid)",
    )


def xref_orphans(engine: Engine) -> tuple[int, list[str]]:
    """Xref rows whose source record is not live (deleted or never staged)."""
    return _ids(
        engine,
        "SELECT x.object || '/' || x.org || '/' || x.sfid FROM golden_next.xref x "
        "WHERE NOT EXISTS (SELECT 1 FROM unified.account u WHERE x.object = 'account' "
        "AND u.org = x.org AND u.sfid = x.sfid) "
        "AND NOT EXISTS (SELECT 1 FROM unified.contact u WHERE x.object = 'contact' "
        "AND u.org = x.org AND u.sfid = x.sfid)",
    )


def golden_without_members(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _ids(
        engine,
        f"SELECT g.golden_id FROM golden_next.{obj} g WHERE NOT EXISTS "
        f"(SELECT 1 FROM golden_next.xref x WHERE x.object = '{obj}' "
        "AND x.golden_id = g.golden_id)",
    )


def members_without_golden(engine: Engine, obj: str) -> tuple[int, list[str]]:
    return _ids(
        engine,
        f"SELECT DISTINCT x.golden_id FROM golden_next.xref x WHERE x.object = '{obj}' "
        f"AND NOT EXISTS (SELECT 1 FROM golden_next.{obj} g WHERE g.golden_id = x.golden_id)",
    )


def golden_without_name(engine: Engine, obj: str) -> tuple[int, list[str]]:
    column = "name"
    return _ids(
        engine,
        f"SELECT golden_id FROM golden_next.{obj} WHERE {column} IS NULL OR btrim({column}) = ''",
    )


def contact_accounts_missing(engine: Engine) -> tuple[int, list[str]]:
    return _ids(
        engine,
        "SELECT c.golden_id FROM golden_next.contact c WHERE c.account_golden_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM golden_next.account a "
        "WHERE a.golden_id = c.account_golden_id)",
    )
