"""The next review queue: pairs of records the matcher scored close to a match but
left in two golden records, one pair per two golden records (the strongest), for
data stewards to decide. A pair a steward decided is never asked about again.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE, ObjectSpec
from warehouse import resolution_state
from warehouse.golden import changed_ids, rebuild_all
from warehouse.matchers import match_settings
from warehouse.sql import plan_for_few_rows
from warehouse_sql import query

# From this many bits a pair a review rule finds is put to the stewards (each rule's
# query, e.g. warehouse_sql/queries/opportunity_review.sql, says what weighs what).
RULE_REVIEW_WEIGHT = 4.0
# resolve.state: the fingerprint of the rules (and weight) the queue's rule pairs were
# found by.
_RULES_STATE = "review_rules"


def reviewed_by_rule() -> list[str]:
    """Objects not resolved whose likely duplicates a named query puts to stewards."""
    return [obj for obj, spec in CATALOGUE.items() if spec.review_rule]


def resolved_objects() -> list[str]:
    """The objects whose duplicates are looked for, parents first."""
    return [obj for obj, spec in CATALOGUE.items() if spec.resolved]


def _label(spec: ObjectSpec, alias: str) -> str:
    """A source record's label: its label fields (joined by a space when several)."""
    if len(spec.label) == 1:
        return f"{alias}.{spec.label[0]}"
    return f"concat_ws(' ', {', '.join(f'{alias}.{f}' for f in spec.label)})"


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
        changed = f"AND (xa.golden_id IN {changed_ids(obj)} OR xb.golden_id IN {changed_ids(obj)}) "
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
            f"(golden_id_a IN {changed_ids(obj)} OR golden_id_b IN {changed_ids(obj)})"
        ),
        {"obj": obj},
    )
    conn.exec_driver_sql("DROP TABLE IF EXISTS review_scope, review_pairs")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE review_scope ON COMMIT DROP AS "
        f"SELECT u.record_id FROM golden_next.xref x JOIN unified.{obj} u "
        f"ON u.org = x.org AND u.sfid = x.sfid WHERE x.object = '{obj}' "
        f"AND x.golden_id IN {changed_ids(obj)}"
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
        for obj in resolved_objects():
            label_a, label_b = (_label(CATALOGUE[obj], alias) for alias in ("ua", "ub"))
            if not full:
                _review_scope(conn, obj)
            counts[obj] = conn.execute(
                text(_review_sql(obj, label_a, label_b, full)),
                {"review_weight": match_settings(obj).review_weight},
            ).rowcount
        rules = {obj: query(CATALOGUE[obj].review_rule) for obj in reviewed_by_rule()}
        fingerprint = hashlib.sha256(f"{rules}|{RULE_REVIEW_WEIGHT}".encode()).hexdigest()
        last = resolution_state.load_state(conn, _RULES_STATE)
        # Pairs found by rules as they were are looked for again when the rules change.
        everything = full or last is None or last.fingerprint != fingerprint
        for obj, rule in rules.items():
            counts[obj] = _look_for_by_rule(conn, obj, rule, everything, full)
        state = resolution_state.ResolveState(0, fingerprint)
        resolution_state.save_state(conn, _RULES_STATE, state)
    return counts, not full


def _look_for_by_rule(conn: Connection, obj: str, rule: str, everything: bool, full: bool) -> int:
    """The pairs `obj`'s review `rule` finds: all of them (`everything`), or those of
    the golden records the change reaches (`review_rule_scope.sql`), the others standing
    as found. `full`: the publication compares every row. Pairs written."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.review_rule_scope")
    params = {"object": obj}
    if everything:
        conn.exec_driver_sql(
            "CREATE TEMP TABLE review_rule_scope (golden_id varchar(18)) ON COMMIT DROP"
        )
        conn.execute(
            text("DELETE FROM golden_next.duplicate_review WHERE object = :object"), params
        )
    else:
        scope = query("review_rule_scope")
        conn.execute(text(f"CREATE TEMP TABLE review_rule_scope ON COMMIT DROP AS {scope}"), params)
        conn.exec_driver_sql("ANALYZE review_rule_scope")
        conn.execute(
            text(
                "DELETE FROM golden_next.duplicate_review WHERE object = :object AND "
                "(golden_id_a IN (SELECT golden_id FROM review_rule_scope) "
                "OR golden_id_b IN (SELECT golden_id FROM review_rule_scope))"
            ),
            params,
        )
    found = conn.execute(
        text(rule), {"review_weight": RULE_REVIEW_WEIGHT, "everything": everything}
    ).rowcount
    if not full:
        # The publication compares the queue rows of these golden records too.
        if everything:
            conn.execute(text(query("review_scope_everything")), params)
        else:
            conn.execute(
                text(
                    "INSERT INTO golden_next.review_scope (object, golden_id) "
                    "SELECT :object, golden_id FROM review_rule_scope"
                ),
                params,
            )
    return found
