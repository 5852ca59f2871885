"""The next publication's ids: each live source record's golden id in
`golden_next.xref`, stable from one publication to the next (`dedupe.identity`),
built whole or (incremental) for the changed records' entities only. Golden records
(`warehouse.survivorship`) and the review queue (`warehouse.review_queue`) are built
from it. Nothing here is visible to readers until `publish` swaps it in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE, OBJECTS
from core.settings import Settings
from dedupe.identity import assign_cluster_ids, new_golden_id
from warehouse.sql import (
    bulk_loaded,
    copy_csv,
    ident,
    index_lookups_only,
    plan_for_few_rows,
    read_query,
)
from warehouse_sql import query


@dataclass
class XrefReport:
    records: dict[str, int]
    golden: dict[str, int]
    kept_ids: dict[str, int]
    new_ids: dict[str, int]
    incremental: bool = False


def org_priorities(conn: Connection, settings: Settings) -> None:
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS org_priority "
        "(org varchar(40) PRIMARY KEY, priority integer NOT NULL, source_schema varchar(63), "
        "is_main boolean NOT NULL)"
    )
    conn.exec_driver_sql("TRUNCATE org_priority")
    conn.execute(
        text("INSERT INTO org_priority VALUES (:org, :priority, :schema, :main)"),
        [
            {
                "org": o.key,
                "priority": o.priority,
                "schema": o.schema,
                "main": o.key == settings.main_org,
            }
            for o in settings.orgs
        ],
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
    if not CATALOGUE[obj].resolved:
        # Each record is an entity of its own (`warehouse.linking`): no other record
        # shares its cluster or golden id, so the changed records are the scope.
        conn.execute(
            text(
                "CREATE TEMP TABLE scope_records ON COMMIT DROP AS SELECT u.record_id "
                f"FROM resolve.changed ch JOIN unified.{obj} u "
                "ON u.org = ch.org AND u.sfid = ch.sfid WHERE ch.object = :obj"
            ),
            {"obj": obj},
        )
        conn.exec_driver_sql("ANALYZE scope_records")
        return
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


def _in_scope(scoped: bool) -> str:
    return "c.record_id IN (SELECT record_id FROM scope_records)" if scoped else "true"


def _members_from(obj: str) -> str:
    return f"FROM resolve.{obj}_cluster c JOIN unified.{obj} u USING (record_id) "


def _smallest_keys_sql(obj: str, scoped: bool) -> str:
    """Each cluster's smallest member key ('org/sfid'), in code point order as Python
    compares strings (the "C" collation compares UTF-8 bytes: the same order)."""
    return (
        "SELECT c.cluster_id AS cluster, "
        "min((u.org || '/' || u.sfid) COLLATE \"C\") AS min_key "
        f"{_members_from(obj)}WHERE {_in_scope(scoped)} GROUP BY c.cluster_id"
    )


def _holdings_sql(obj: str, scoped: bool) -> str:
    """How many members of each cluster held each golden id last published."""
    return (
        "SELECT x.golden_id AS previous_id, c.cluster_id AS cluster, count(*) AS count "
        f"{_members_from(obj)}JOIN golden.xref x "
        "ON x.object = %(obj)s AND x.org = u.org AND x.sfid = u.sfid "
        f"WHERE {_in_scope(scoped)} GROUP BY x.golden_id, c.cluster_id"
    )


def _org_schemas(settings: Settings) -> dict[str, list[str]]:
    """The `:orgs` and `:schemas` arrays the xref rows take their source schema from."""
    return {"orgs": [o.key for o in settings.orgs], "schemas": [o.schema for o in settings.orgs]}


def _write_member_rows(
    conn: Connection, obj: str, settings: Settings, assigned: dict, by: str = "cluster_id"
) -> int:
    """The xref rows of the members whose golden ids `assigned` holds, by cluster
    (`by`: "cluster_id") or by record ("record_id"): joined in SQL, so that no
    record's columns make a round trip through Python. `assigned` holds the build's
    scope and nothing else (a scope is made of whole clusters)."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS assigned_golden_id")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE assigned_golden_id (key bigint NOT NULL, golden_id text NOT NULL) "
        "ON COMMIT DROP"
    )
    # Keys are numbers and golden ids letters and digits: CSV without quoting.
    copy_csv(
        conn,
        "assigned_golden_id",
        ("key", "golden_id"),
        "".join(f"{key},{golden_id}\n" for key, golden_id in assigned.items()),
    )
    conn.exec_driver_sql("ANALYZE assigned_golden_id")
    # Why each record is where it is: its strongest kept pair inside its cluster
    # (written by clustering; the pair, with per-field weights, is in
    # resolve.<obj>_pair). NaN there means none (and for objects not resolved).
    return conn.execute(
        text(
            "INSERT INTO golden_next.xref (object, org, sfid, golden_id, source_schema, "
            "hc_failed, systemmodstamp, match_weight) "
            "SELECT :obj, u.org, u.sfid, a.golden_id, s.schema, u.hc_failed, u.systemmodstamp, "
            "NULLIF(c.match_weight, 'NaN') "
            f"{_members_from(obj)}JOIN assigned_golden_id a ON a.key = c.{by} "
            "LEFT JOIN unnest(CAST(:orgs AS text[]), CAST(:schemas AS text[])) AS s (org, schema) "
            "ON s.org = u.org"
        ),
        {"obj": obj, **_org_schemas(settings)},
    ).rowcount


def _linked_xref_rows(
    conn: Connection, obj: str, settings: Settings, scoped: bool, report: XrefReport
) -> set[str]:
    """`_xref_rows` of an object that is not resolved: each record is a golden record
    of its own, under the id it had, else under one made from its key as
    `dedupe.identity` makes them. Kept ids are copied in SQL; only new records' ids
    are made here (all of them at a first publication: hundreds of thousands)."""
    scope = _in_scope(scoped)
    kept = conn.execute(
        text(
            "INSERT INTO golden_next.xref (object, org, sfid, golden_id, source_schema, "
            "hc_failed, systemmodstamp) "
            "SELECT :obj, u.org, u.sfid, x.golden_id, s.schema, u.hc_failed, u.systemmodstamp "
            f"{_members_from(obj)}"
            "JOIN golden.xref x ON x.object = :obj AND x.org = u.org AND x.sfid = u.sfid "
            "JOIN unnest(CAST(:orgs AS text[]), CAST(:schemas AS text[])) AS s (org, schema) "
            f"ON s.org = u.org WHERE {scope} RETURNING golden_id"
        ),
        {"obj": obj, **_org_schemas(settings)},
    )
    kept_ids = set(kept.scalars()) if scoped else set()
    kept_count = kept.rowcount
    new = read_query(
        conn,
        "SELECT c.record_id, u.org || '/' || u.sfid AS key "
        f"{_members_from(obj)}"
        "LEFT JOIN golden.xref x ON x.object = %(obj)s AND x.org = u.org AND x.sfid = u.sfid "
        f"WHERE x.golden_id IS NULL AND {scope}",
        {"obj": obj},
        text=("key",),
    )
    prefix = CATALOGUE[obj].golden_prefix
    keys = new["key"].tolist()
    ids = [new_golden_id(obj, prefix, key) for key in keys]
    salt = 0
    # An id issued before (a record deleted, then back) or held is not issued again:
    # nothing to look up when none of the object's ids was ever issued (a first run,
    # hundreds of thousands of new ids) and none is held. (Its ids are the registry's
    # between its prefix and the next one.)
    issued_before = kept_count > 0 or _ever_issued(conn, prefix)
    while issued_before:
        taken = set(
            conn.execute(
                text(
                    "SELECT golden_id FROM org360.golden_id WHERE golden_id = ANY(:ids) "
                    "UNION SELECT golden_id FROM golden_next.xref "
                    "WHERE object = :obj AND golden_id = ANY(:ids)"
                ),
                {"ids": ids, "obj": obj},
            ).scalars()
        )
        if not taken:
            break
        salt += 1
        ids = [
            new_golden_id(obj, prefix, key, salt) if golden_id in taken else golden_id
            for key, golden_id in zip(keys, ids, strict=True)
        ]
    by_record = dict(zip(new["record_id"].tolist(), ids, strict=True))
    _write_member_rows(conn, obj, settings, by_record, by="record_id")
    report.records[obj] = report.golden[obj] = kept_count + len(new)
    report.kept_ids[obj] = kept_count
    report.new_ids[obj] = len(new)
    return kept_ids | set(ids)


def _ever_issued(conn: Connection, prefix: str) -> bool:
    """Whether the registry holds an id of the object whose ids start with `prefix`
    (its ids are those between the prefix and the next one)."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM org360.golden_id "
                "WHERE golden_id >= :prefix AND golden_id < :after)"
            ),
            {"prefix": prefix, "after": prefix[:-1] + chr(ord(prefix[-1]) + 1)},
        ).scalar()
    )


def _xref_rows(
    conn: Connection, obj: str, settings: Settings, scoped: bool, report: XrefReport
) -> set[str]:
    """Write the xref rows of `obj` (all, or the scope's); return the ids assigned."""
    if not CATALOGUE[obj].resolved:
        return _linked_xref_rows(conn, obj, settings, scoped, report)
    # What the ids are chosen by, counted in SQL: a row per cluster and per id held.
    smallest = read_query(conn, _smallest_keys_sql(obj, scoped), text=("min_key",))
    smallest_keys = smallest.set_index("cluster")["min_key"]
    holdings = read_query(conn, _holdings_sql(obj, scoped), {"obj": obj}, text=("previous_id",))
    previous = holdings["previous_id"].unique().tolist()
    issued = dict(
        conn.execute(
            text("SELECT golden_id, issued_at FROM org360.golden_id WHERE golden_id = ANY(:ids)"),
            {"ids": previous},
        ).all()
    )
    prefix = CATALOGUE[obj].golden_prefix
    assigned = assign_cluster_ids(obj, prefix, smallest_keys, holdings, issued)
    retired: set[str] = set()
    # Nothing to look up when none of the object's ids was ever issued (a first run).
    if previous or _ever_issued(conn, prefix):
        fresh = [g for g in set(assigned.values()) if g not in issued]
        retired = set(
            conn.execute(
                text("SELECT golden_id FROM org360.golden_id WHERE golden_id = ANY(:ids)"),
                {"ids": fresh},
            ).scalars()
        )
    if retired:
        # A new cluster's natural id was used before by an entity now gone: pick another.
        assigned = assign_cluster_ids(
            obj, prefix, smallest_keys, holdings, issued, reserved=retired
        )
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
    report.records[obj] = _write_member_rows(conn, obj, settings, assigned)
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


def settings_fingerprint(settings: Settings) -> str:
    """What of the config shapes golden records without changing who matches whom."""
    shaping = {
        "main_org": settings.main_org,
        "reporting_currency": settings.reporting_currency,
        "orgs": {o.key: [o.priority, o.currency, o.stages] for o in settings.orgs},
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()


def _settings_changed(conn: Connection, settings: Settings) -> bool:
    """Record this build's settings; True when golden records were built with others
    (every one is then rebuilt: a new main org reaches records nothing else changed)."""
    fingerprint = settings_fingerprint(settings)
    before = conn.execute(text("SELECT fingerprint FROM org360.golden_settings")).scalar()
    if before == fingerprint:
        return False
    conn.execute(
        text(
            "INSERT INTO org360.golden_settings (fingerprint) VALUES (:f) "
            "ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint"
        ),
        {"f": fingerprint},
    )
    # None: built before fingerprints were kept, with settings nobody can tell.
    return True


def _rebuild_every_object(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO resolve.rebuild SELECT unnest(CAST(:objs AS text[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"objs": list(OBJECTS)},
    )


def build_xref(engine: Engine, settings: Settings) -> XrefReport:
    report = XrefReport({}, {}, {}, {})
    with engine.begin() as conn:
        # An empty golden_next.xref: nothing built yet, or the unlogged next publication
        # lost to a crash. Every step after this one builds whole then, not just this.
        lost = not conn.execute(text("SELECT EXISTS (SELECT 1 FROM golden_next.xref)")).scalar()
        if _settings_changed(conn, settings) or lost:
            _rebuild_every_object(conn)
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
                _rebuild_every_object(conn)
        if full:
            conn.exec_driver_sql("TRUNCATE golden_next.xref")
            with bulk_loaded(conn, "golden_next", "xref"):
                for obj in OBJECTS:
                    _xref_rows(conn, obj, settings, False, report)
            # Fresh statistics for the builds and checks that join it next.
            conn.exec_driver_sql("ANALYZE golden_next.xref")
        report.incremental = not full
    return report


def changed_ids(obj: str) -> str:
    """The golden ids of `obj` this build rebuilds (a subquery)."""
    return f"(SELECT golden_id FROM golden_next.changed WHERE object = '{obj}')"
