"""Build the next publication in `golden_next`: ids, cross-reference, golden records by
survivorship, and the review queue. Nothing here is visible to readers until
`publish` swaps it in.

Survivorship per field: the first non-null value in member order, where members are
ordered by org priority (lower wins), then recency (systemmodstamp), then
completeness. Addresses survive as a block, from one record, so a street is never
paired with another record's city.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, Engine, text

from core.catalogue import ACCOUNT, CATALOGUE, CONTACT, OBJECTS
from core.settings import Settings
from dedupe.identity import assign_golden_ids
from dedupe.settings import DEFAULT_SETTINGS
from warehouse.sql import copy_frame, ident, index_lookups_only, plan_for_few_rows
from warehouse_sql import query

# Each object's one survivorship block (its address), by the catalogue's name for it,
# which provenance uses too.
(ACCOUNT_ADDRESS,) = ACCOUNT.blocks
(CONTACT_ADDRESS,) = CONTACT.blocks


@dataclass
class XrefReport:
    records: dict[str, int]
    golden: dict[str, int]
    kept_ids: dict[str, int]
    new_ids: dict[str, int]
    incremental: bool = False


def _org_priorities(conn: Connection, settings: Settings) -> None:
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS org_priority "
        "(org varchar(40) PRIMARY KEY, priority integer NOT NULL, source_schema varchar(63))"
    )
    conn.exec_driver_sql("TRUNCATE org_priority")
    conn.execute(
        text("INSERT INTO org_priority VALUES (:org, :priority, :schema)"),
        [{"org": o.key, "priority": o.priority, "schema": o.schema} for o in settings.orgs],
    )


def rebuild_all(conn: Connection) -> bool:
    """Whether this publication is built whole: a resolution ran in full, or nothing
    was built before. Otherwise only the golden records of changed sources are."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM resolve.rebuild) "
                "OR NOT EXISTS (SELECT 1 FROM golden_next.xref)"
            )
        ).scalar()
    )


class _IdConflict(Exception):
    """A golden id an incremental build would assign is held outside its scope."""


def _scope_records(conn: Connection, obj: str) -> None:
    """The records whose xref rows an incremental build rewrites: every member of a
    cluster holding a changed source record, or holding a record that shared a golden
    id with one (so a split or merged entity is seen whole)."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS scope_records")
    conn.execute(
        text(
            "CREATE TEMP TABLE scope_records ON COMMIT DROP AS "
            "WITH pending AS (SELECT org, sfid FROM resolve.changed WHERE object = :obj), "
            "old_ids AS (SELECT x.golden_id FROM golden_next.xref x JOIN pending p "
            " ON x.org = p.org AND x.sfid = p.sfid WHERE x.object = :obj), "
            f"seed AS (SELECT u.record_id FROM pending p JOIN unified.{obj} u "
            " ON u.org = p.org AND u.sfid = p.sfid "
            f" UNION SELECT u.record_id FROM golden_next.xref x JOIN unified.{obj} u "
            " ON u.org = x.org AND u.sfid = x.sfid "
            " WHERE x.object = :obj AND x.golden_id IN (SELECT golden_id FROM old_ids)) "
            f"SELECT c.record_id FROM resolve.{obj}_cluster c WHERE c.cluster_id IN "
            f"(SELECT c2.cluster_id FROM resolve.{obj}_cluster c2 JOIN seed USING (record_id))"
        ),
        {"obj": obj},
    )
    conn.exec_driver_sql("ANALYZE scope_records")


def _member_sql(obj: str, scoped: bool) -> str:
    def in_scope(alias: str) -> str:
        if not scoped:
            return "true"
        return f"{alias}.record_id IN (SELECT record_id FROM scope_records)"

    return (
        # Why each record is where it is: its strongest kept pair inside its cluster
        # (written by clustering; the pair, with per-field weights, is in
        # resolve.<obj>_pair). NaN there means none.
        f"SELECT c.cluster_id AS cluster, u.org, u.sfid, "
        f"u.org || '/' || u.sfid AS member_key, x.golden_id AS previous_id, "
        f"u.hc_failed, u.systemmodstamp, NULLIF(c.match_weight, 'NaN') AS match_weight "
        f"FROM resolve.{obj}_cluster c JOIN unified.{obj} u USING (record_id) "
        f"LEFT JOIN golden.xref x "
        f"ON x.object = :obj AND x.org = u.org AND x.sfid = u.sfid "
        f"WHERE {in_scope('c')}"
    )


def _xref_rows(
    conn: Connection, obj: str, settings: Settings, scoped: bool, report: XrefReport
) -> set[str]:
    """Write the xref rows of `obj` (all, or the scope's); return the ids assigned."""
    members = pd.read_sql_query(text(_member_sql(obj, scoped)), conn, params={"obj": obj})
    members["previous_id"] = (
        members["previous_id"].astype(object).where(members["previous_id"].notna(), None)
    )
    previous = [g for g in members["previous_id"].dropna().unique()]
    issued = dict(
        conn.execute(
            text("SELECT golden_id, issued_at FROM org360.golden_id WHERE golden_id = ANY(:ids)"),
            {"ids": previous},
        ).all()
    )
    assigned = assign_golden_ids(obj, members, issued)
    fresh = [g for g in set(assigned.values()) if g not in issued]
    retired = set(
        conn.execute(
            text("SELECT golden_id FROM org360.golden_id WHERE golden_id = ANY(:ids)"),
            {"ids": fresh},
        ).scalars()
    )
    if retired:
        # A new cluster's natural id was used before by an entity now gone: pick another.
        assigned = assign_golden_ids(obj, members, issued, reserved=retired)
    ids = set(assigned.values())
    if (
        scoped
        and conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM golden_next.xref "
                "WHERE object = :obj AND golden_id = ANY(:ids))"
            ),
            {"obj": obj, "ids": list(ids)},
        ).scalar()
    ):
        raise _IdConflict(obj)
    members["golden_id"] = members["cluster"].map(assigned)
    members["object"] = obj
    members["source_schema"] = members["org"].map({o.key: o.schema for o in settings.orgs})
    copy_frame(
        conn,
        "golden_next.xref",
        members,
        [
            "object",
            "org",
            "sfid",
            "golden_id",
            "source_schema",
            "hc_failed",
            "systemmodstamp",
            "match_weight",
        ],
    )
    report.records[obj] = len(members)
    report.golden[obj] = len(assigned)
    kept = ids & set(previous)
    report.kept_ids[obj] = len(kept)
    report.new_ids[obj] = len(assigned) - len(kept)
    return ids


def _xref_changes(conn: Connection, obj: str, settings: Settings, report: XrefReport) -> None:
    """Rewrite the scope's xref rows and note every golden id they held or now hold.
    The rows as they were stay in `xref_before` for the rest of the transaction."""
    _scope_records(conn, obj)
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS xref_before "
        "(LIKE golden_next.xref INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    conn.exec_driver_sql("TRUNCATE xref_before")
    with index_lookups_only(conn):
        # The rows are looked up by key (a few thousand of a million), not found by
        # scanning them all.
        conn.execute(
            text(
                "WITH scope AS (SELECT org, sfid FROM resolve.changed WHERE object = :obj "
                f"UNION SELECT u.org, u.sfid FROM unified.{obj} u "
                "JOIN scope_records USING (record_id)), "
                "gone AS (DELETE FROM golden_next.xref x USING scope s WHERE x.object = :obj "
                "AND x.org = s.org AND x.sfid = s.sfid RETURNING x.*) "
                "INSERT INTO xref_before SELECT * FROM gone"
            ),
            {"obj": obj},
        )
    before = conn.execute(
        text("SELECT DISTINCT golden_id FROM xref_before WHERE object = :obj"), {"obj": obj}
    ).scalars()
    touched = set(before) | _xref_rows(conn, obj, settings, True, report)
    conn.execute(
        text(
            "INSERT INTO golden_next.changed (object, golden_id) "
            "SELECT :obj, unnest(CAST(:ids AS text[])) ON CONFLICT DO NOTHING"
        ),
        {"obj": obj, "ids": sorted(touched)},
    )
    conn.exec_driver_sql("ANALYZE golden_next.changed")


def _children_of_moved(conn: Connection, parent: str) -> None:
    """Mark for rebuilding the golden records of every object whose records point to
    `parent`'s (the catalogue's `parent` fields) where those moved (see the SQL)."""
    for child, spec in CATALOGUE.items():
        for field, of in spec.parents.items():
            if of != parent:
                continue
            conn.execute(
                text(
                    query(
                        "children_of_moved_parents",
                        parent_unified=ident(conn, "unified", parent),
                        child_unified=ident(conn, "unified", child),
                        parent_field=ident(conn, field),
                    )
                ),
                {"parent": parent, "child": child},
            )


def build_xref(engine: Engine, settings: Settings) -> XrefReport:
    report = XrefReport({}, {}, {}, {})
    with engine.begin() as conn:
        full = rebuild_all(conn)
        if not full:
            plan_for_few_rows(conn)
            savepoint = conn.begin_nested()
            try:
                # Parents first (the catalogue's order): a child's build reads theirs.
                for obj in OBJECTS:
                    _xref_changes(conn, obj, settings, report)
                    _children_of_moved(conn, obj)
                savepoint.commit()
            except _IdConflict:
                # Ids moved in a way a partial build cannot see whole: build it all.
                savepoint.rollback()
                full = True
                report = XrefReport({}, {}, {}, {})
                for obj in OBJECTS:
                    conn.execute(
                        text("INSERT INTO resolve.rebuild VALUES (:obj) ON CONFLICT DO NOTHING"),
                        {"obj": obj},
                    )
        if full:
            conn.exec_driver_sql("TRUNCATE golden_next.xref")
            for obj in OBJECTS:
                _xref_rows(conn, obj, settings, False, report)
            # Fresh statistics for the builds and checks that join it next.
            conn.exec_driver_sql("ANALYZE golden_next.xref")
        report.incremental = not full
    return report


def _field_aggregate(field: str) -> str:
    return f"(array_agg(m.{field} ORDER BY m.rank) FILTER (WHERE m.{field} IS NOT NULL))[1]"


def _field_provenance(field: str) -> str:
    return (
        f"'{field}', (array_agg(jsonb_build_object('org', m.org, 'sfid', m.sfid) "
        f"ORDER BY m.rank) FILTER (WHERE m.{field} IS NOT NULL))[1]"
    )


def _changed_ids(obj: str) -> str:
    return f"(SELECT golden_id FROM golden_next.changed WHERE object = '{obj}')"


def _stage_members(conn: Connection, obj: str, columns: tuple[str, ...], full: bool) -> None:
    """Each golden record's members (all, or the changed records'), ranked for
    survivorship, in a temp table.

    A temp table with fresh statistics rather than a CTE: the planner then hashes
    the joins below instead of looping over a CTE for every row.
    """
    only_changed = "" if full else f" AND x.golden_id IN {_changed_ids(obj)}"
    conn.exec_driver_sql(
        "CREATE TEMP TABLE members ON COMMIT DROP AS "
        "SELECT x.golden_id, u.org, u.sfid, u.systemmodstamp, "
        f"{', '.join('u.' + c for c in columns)}, "
        "row_number() OVER (PARTITION BY x.golden_id ORDER BY p.priority, "
        "u.systemmodstamp DESC NULLS LAST, u.completeness DESC, u.org, u.sfid) AS rank "
        f"FROM golden_next.xref x JOIN unified.{obj} u ON u.org = x.org AND u.sfid = x.sfid "
        f"JOIN org_priority p ON p.org = u.org WHERE x.object = '{obj}'{only_changed}"
    )
    conn.exec_driver_sql("ANALYZE members")


def _clear(conn: Connection, obj: str) -> bool:
    """Empty the golden records about to be built (all, or the changed ones); True
    when all."""
    full = rebuild_all(conn)
    if full:
        conn.exec_driver_sql(f"TRUNCATE golden_next.{obj}")
    else:
        plan_for_few_rows(conn)
        conn.exec_driver_sql(
            f"DELETE FROM golden_next.{obj} WHERE golden_id IN {_changed_ids(obj)}"
        )
    return full


def _stage_addresses(conn: Connection, fields: tuple[str, ...]) -> None:
    """The best member with an address at all (fuller addresses first), per golden record."""
    parts = ", ".join(f for f in fields if not f.endswith("_code"))
    conn.exec_driver_sql(
        "CREATE TEMP TABLE address ON COMMIT DROP AS "
        f"SELECT DISTINCT ON (golden_id) golden_id, org, sfid, {', '.join(fields)} "
        f"FROM members WHERE num_nonnulls({parts}) > 0 "
        f"ORDER BY golden_id, num_nonnulls({parts}) DESC, rank"
    )
    conn.exec_driver_sql("ANALYZE address")


def _survived(simple: tuple[str, ...], extra_select: str = "", extra_join: str = "") -> str:
    return (
        "SELECT m.golden_id, "
        + ", ".join(f"{_field_aggregate(f)} AS {f}" for f in simple)
        + extra_select
        + ", max(m.org || '/' || m.sfid) FILTER (WHERE m.rank = 1) AS first_member"
        ", count(*) AS member_count, string_agg(DISTINCT m.org, ',' ORDER BY m.org) AS orgs, "
        "jsonb_strip_nulls(jsonb_build_object("
        + ", ".join(_field_provenance(f) for f in simple)
        + ")) AS provenance, max(m.systemmodstamp) AT TIME ZONE 'UTC' AS last_modified "
        f"FROM members m {extra_join} GROUP BY m.golden_id"
    )


def _address_provenance(block: str) -> str:
    return (
        "s.provenance || CASE WHEN a.golden_id IS NULL THEN '{}'::jsonb ELSE "
        f"jsonb_build_object('{block}', jsonb_build_object('org', a.org, 'sfid', a.sfid)) END"
    )


@dataclass(frozen=True)
class Built:
    """Golden records written: all of them, or (incremental) the changed ones."""

    rows: int
    incremental: bool


# A golden record whose members have no name is shown by what it has: the name is
# never null, and provenance has no 'name' when it is such a stand-in.
ACCOUNT_DISPLAY_NAME = "COALESCE(s.name, s.domain, s.registration_number, s.first_member)"
CONTACT_DISPLAY_NAME = (
    "COALESCE(NULLIF(concat_ws(' ', s.first_name, s.last_name), ''), s.email, s.first_member)"
)


def build_accounts(engine: Engine, settings: Settings) -> Built:
    simple, address = ACCOUNT.golden_fields(), ACCOUNT.golden_fields(ACCOUNT_ADDRESS)
    columns = (*simple, *address)
    survived = [ACCOUNT_DISPLAY_NAME if f == "name" else "s." + f for f in simple]
    sql = (
        f"INSERT INTO golden_next.account (golden_id, {', '.join(columns)}, "
        "member_count, orgs, provenance, last_modified) "
        f"SELECT s.golden_id, {', '.join(survived)}, "
        f"{', '.join('a.' + f for f in address)}, s.member_count, s.orgs, "
        f"{_address_provenance(ACCOUNT_ADDRESS)}, s.last_modified "
        f"FROM ({_survived(simple)}) s LEFT JOIN address a ON a.golden_id = s.golden_id"
    )
    with engine.begin() as conn:
        _org_priorities(conn, settings)
        full = _clear(conn, "account")
        _stage_members(conn, "account", (*columns, "completeness"), full)
        _stage_addresses(conn, address)
        return Built(conn.execute(text(sql)).rowcount, incremental=not full)


def build_contacts(engine: Engine, settings: Settings) -> Built:
    simple, address = CONTACT.golden_fields(), CONTACT.golden_fields(CONTACT_ADDRESS)
    columns = (*simple, *address)
    # The contact's golden account: that of its best-ranked member whose account resolved.
    account = (
        ", (array_agg(ax.golden_id ORDER BY m.rank) "
        "FILTER (WHERE ax.golden_id IS NOT NULL))[1] AS account_golden_id"
        ", (array_agg(jsonb_build_object('org', m.org, 'sfid', m.sfid) ORDER BY m.rank) "
        "FILTER (WHERE ax.golden_id IS NOT NULL))[1] AS account_source"
    )
    account_join = (
        "LEFT JOIN golden_next.xref ax ON ax.object = 'account' AND ax.org = m.org "
        "AND ax.sfid = m.account_sfid"
    )
    sql = (
        f"INSERT INTO golden_next.contact (golden_id, {', '.join(columns)}, name, "
        "account_golden_id, member_count, orgs, provenance, last_modified) "
        f"SELECT s.golden_id, {', '.join('s.' + f for f in simple)}, "
        f"{', '.join('a.' + f for f in address)}, "
        f"{CONTACT_DISPLAY_NAME}, s.account_golden_id, "
        f"s.member_count, s.orgs, jsonb_strip_nulls({_address_provenance(CONTACT_ADDRESS)} "
        "|| jsonb_build_object('account', s.account_source)), s.last_modified "
        f"FROM ({_survived(simple, account, account_join)}) s "
        "LEFT JOIN address a ON a.golden_id = s.golden_id"
    )
    with engine.begin() as conn:
        _org_priorities(conn, settings)
        full = _clear(conn, "contact")
        _stage_members(conn, "contact", (*columns, "account_sfid", "completeness"), full)
        _stage_addresses(conn, address)
        return Built(conn.execute(text(sql)).rowcount, incremental=not full)


def _review_sql(obj: str, label_a: str, label_b: str, full: bool) -> str:
    pairs = f"resolve.{obj}_pair"
    changed = ""
    if not full:
        # Only pairs with a record of a changed golden record: every pair between two
        # golden records of which one changed.
        pairs = (
            f"(SELECT p.* FROM review_pairs k JOIN resolve.{obj}_pair p "
            "ON p.left_id = k.left_id AND p.right_id = k.right_id)"
        )
        changed = (
            f"AND (xa.golden_id IN {_changed_ids(obj)} OR xb.golden_id IN {_changed_ids(obj)}) "
        )
    return (
        "INSERT INTO golden_next.duplicate_review (review_id, object, org_a, sfid_a, golden_id_a,"
        " label_a, org_b, sfid_b, golden_id_b, label_b, probability, match_weight, field_weights) "
        "SELECT DISTINCT ON "
        "(least(xa.golden_id, xb.golden_id), greatest(xa.golden_id, xb.golden_id))"
        f" md5('{obj}|' || ua.org || '|' || ua.sfid || '|' || ub.org || '|' || ub.sfid),"
        f" '{obj}', ua.org, ua.sfid, xa.golden_id, left({label_a}, 255),"
        f" ub.org, ub.sfid, xb.golden_id, left({label_b}, 255),"
        " p.probability, p.match_weight, p.field_weights::jsonb "
        f"FROM {pairs} p "
        f"JOIN unified.{obj} ua ON ua.record_id = p.left_id "
        f"JOIN unified.{obj} ub ON ub.record_id = p.right_id "
        f"JOIN golden_next.xref xa "
        f"ON xa.object = '{obj}' AND xa.org = ua.org AND xa.sfid = ua.sfid "
        f"JOIN golden_next.xref xb "
        f"ON xb.object = '{obj}' AND xb.org = ub.org AND xb.sfid = ub.sfid "
        "WHERE xa.golden_id <> xb.golden_id AND p.match_weight >= :review_weight "
        f"{changed}"
        # A pair a steward has decided is never asked about again.
        "AND NOT EXISTS (SELECT 1 FROM steward.decision d "
        f"WHERE d.object = '{obj}' AND ((d.org_a, d.sfid_a, d.org_b, d.sfid_b) = "
        "(ua.org, ua.sfid, ub.org, ub.sfid) OR (d.org_a, d.sfid_a, d.org_b, d.sfid_b) = "
        "(ub.org, ub.sfid, ua.org, ua.sfid))) "
        "ORDER BY least(xa.golden_id, xb.golden_id), greatest(xa.golden_id, xb.golden_id),"
        # Ties broken by record, so the pair shown does not depend on storage order.
        " p.match_weight DESC, p.left_id, p.right_id"
    )


def _review_scope(conn: Connection, obj: str) -> None:
    """The records of changed golden records; their review pairs are rebuilt."""
    conn.execute(
        text(
            "DELETE FROM golden_next.duplicate_review WHERE object = :obj AND "
            f"(golden_id_a IN {_changed_ids(obj)} OR golden_id_b IN {_changed_ids(obj)})"
        ),
        {"obj": obj},
    )
    conn.exec_driver_sql("DROP TABLE IF EXISTS review_scope, review_pairs")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE review_scope ON COMMIT DROP AS "
        f"SELECT u.record_id FROM golden_next.xref x JOIN unified.{obj} u "
        f"ON u.org = x.org AND u.sfid = x.sfid WHERE x.object = '{obj}' "
        f"AND x.golden_id IN {_changed_ids(obj)}"
    )
    # Their pairs' keys, in a table of their own: the planner then knows how few they
    # are and looks each one up rather than hashing whole tables.
    conn.exec_driver_sql(
        "CREATE TEMP TABLE review_pairs ON COMMIT DROP AS "
        f"SELECT p.left_id, p.right_id FROM review_scope s JOIN resolve.{obj}_pair p "
        f"ON p.left_id = s.record_id UNION SELECT p.left_id, p.right_id FROM review_scope s "
        f"JOIN resolve.{obj}_pair p ON p.right_id = s.record_id"
    )
    conn.exec_driver_sql("ANALYZE review_pairs")


def build_review_queue(engine: Engine) -> tuple[dict[str, int], bool]:
    """Pairs written per object, and whether only changed golden records' were."""
    counts = {}
    with engine.begin() as conn:
        full = rebuild_all(conn)
        if full:
            conn.exec_driver_sql("TRUNCATE golden_next.duplicate_review")
        else:
            plan_for_few_rows(conn)
        for obj, label_a, label_b in (
            ("account", "ua.name", "ub.name"),
            (
                "contact",
                "concat_ws(' ', ua.first_name, ua.last_name)",
                "concat_ws(' ', ub.first_name, ub.last_name)",
            ),
        ):
            if not full:
                _review_scope(conn, obj)
            counts[obj] = conn.execute(
                text(_review_sql(obj, label_a, label_b, full)),
                {"review_weight": DEFAULT_SETTINGS[obj].review_weight},
            ).rowcount
    return counts, not full
