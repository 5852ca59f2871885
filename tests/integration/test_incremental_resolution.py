"""Incremental resolution: after a change, scoring only the changed records' pairs and
rebuilding only the golden records they touch publishes what a full run publishes."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import text

from core.catalogue import OBJECTS
from demo.changes import apply_changes
from demo.seed import evaluate
from pipelines.runner import run_all
from tests.helpers.orgs import golden_value, seed_demo, write_config
from warehouse import incremental_resolution
from warehouse.steward import Decision, record_decision

_TABLES = {
    # Not the match weights: pairs between unchanged records keep the scores they had.
    "xref": "SELECT object, org, sfid, golden_id, source_schema, hc_failed FROM golden.xref",
    "account": (
        "SELECT golden_id, name, website, domain, phone, billing_street, billing_city, "
        "billing_postcode, billing_country_code, member_count, orgs, provenance::text "
        "FROM golden.account"
    ),
    "contact": (
        "SELECT golden_id, first_name, last_name, name, email, phone, mobile_phone, title, "
        "mailing_street, mailing_city, account_golden_id, member_count, orgs, "
        "provenance::text FROM golden.contact"
    ),
    "review": (
        "SELECT review_id, object, org_a, sfid_a, golden_id_a, label_a, org_b, sfid_b, "
        "golden_id_b, label_b FROM golden.duplicate_review"
    ),
}


def _published(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {
            name: pd.read_sql_query(text(sql), conn)
            .sort_values(by=list(pd.read_sql_query(text(sql + " LIMIT 0"), conn).columns[:4]))
            .reset_index(drop=True)
            for name, sql in _TABLES.items()
        }


def _assert_published_equal(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]):
    for name in _TABLES:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def _reported(obj: str, asset: str, name: str):
    """What the latest resolution of `obj` told Dagster about itself."""
    event = dg.DagsterInstance.get().get_latest_materialization_event(
        dg.AssetKey(["resolve", f"{obj}_{asset}"])
    )
    assert event is not None and event.asset_materialization is not None
    return event.asset_materialization.metadata[name].value


def _assert_strongest_pairs_published(engine) -> None:
    """golden.xref.match_weight is each record's strongest kept pair inside its
    cluster, as the pairs and clusters in Postgres say now."""
    strongest = " UNION ALL ".join(
        f"SELECT '{obj}' AS object, u.org, u.sfid, s.weight FROM unified.{obj} u "
        f"LEFT JOIN (SELECT ends.record_id, max(p.match_weight) AS weight "
        f"FROM resolve.{obj}_pair p "
        f"JOIN resolve.{obj}_cluster a ON a.record_id = p.left_id "
        f"JOIN resolve.{obj}_cluster b ON b.record_id = p.right_id "
        "CROSS JOIN LATERAL (VALUES (p.left_id), (p.right_id)) AS ends(record_id) "
        "WHERE a.cluster_id = b.cluster_id GROUP BY ends.record_id) s USING (record_id)"
        for obj in ("account", "contact")
    )
    with engine.connect() as conn:
        differ = conn.execute(
            text(
                f"SELECT count(*), count(s.weight) FROM ({strongest}) s JOIN golden.xref x "
                "USING (object, org, sfid) WHERE x.match_weight IS DISTINCT FROM s.weight"
            )
        ).one()
        together = conn.execute(
            text("SELECT count(*) FROM golden.xref WHERE match_weight IS NOT NULL")
        ).scalar_one()
    assert differ == (0, 0)
    assert together > 0


def _resolved_incrementally(obj: str) -> bool:
    return bool(_reported(obj, "pair", "incremental"))


def _registry_problems(engine) -> tuple[int, int, int]:
    """(published ids not issued or marked retired, unpublished ids not retired, retired)."""
    published = " UNION ALL ".join(f"SELECT golden_id FROM golden.{obj}" for obj in OBJECTS)
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT (SELECT count(*) FROM ({published}) p LEFT JOIN org360.golden_id r "
                "USING (golden_id) WHERE r.golden_id IS NULL OR r.retired_at IS NOT NULL), "
                "(SELECT count(*) FROM org360.golden_id r WHERE r.retired_at IS NULL "
                f"AND r.golden_id NOT IN ({published})), "
                "(SELECT count(*) FROM org360.golden_id WHERE retired_at IS NOT NULL)"
            )
        ).one()


def _decide(engine, decision: str, obj: str, a: tuple[str, str], b: tuple[str, str]) -> None:
    record_decision(engine, Decision(obj, *a, *b, decision=decision, decided_by="steward"))


def test_an_incremental_run_publishes_what_a_full_run_publishes(database_url, engine, tmp_path):
    seed_demo(database_url, companies=80)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)

    changes = apply_changes(engine, fraction=0.05, seed=4)
    assert changes.edited and changes.duplicated and changes.deleted
    with engine.connect() as conn:
        # A steward splits a merged contact and joins two separate accounts.
        merged = conn.execute(
            text(
                "SELECT org, sfid FROM golden.xref WHERE object = 'contact' AND golden_id = "
                "(SELECT golden_id FROM golden.contact WHERE member_count >= 2 "
                "ORDER BY golden_id LIMIT 1) ORDER BY org, sfid LIMIT 2"
            )
        ).all()
        apart = conn.execute(
            text(
                "SELECT DISTINCT ON (golden_id) org, sfid FROM golden.xref "
                "WHERE object = 'account' ORDER BY golden_id, org, sfid LIMIT 2"
            )
        ).all()
    _decide(engine, "no_match", "contact", tuple(merged[0]), tuple(merged[1]))
    _decide(engine, "match", "account", tuple(apart[0]), tuple(apart[1]))

    run_all(config)
    assert _resolved_incrementally("account") and _resolved_incrementally("contact")
    with engine.connect() as conn:
        for obj in ("account", "contact"):
            records, clusters = conn.execute(
                text(f"SELECT count(*), count(DISTINCT cluster_id) FROM resolve.{obj}_cluster")
            ).one()
            assert _reported(obj, "cluster", "dagster/row_count") == records
            assert _reported(obj, "cluster", "clusters") == clusters
    published = _published(engine)
    _assert_strongest_pairs_published(engine)
    quality = evaluate(engine)
    wrong, unretired, retired = _registry_problems(engine)
    assert wrong == 0 and unretired == 0 and retired > 0  # merged and deleted entities

    run_all(config, full=True)  # `org360 run --full`
    assert not _resolved_incrementally("contact")
    full = _published(engine)
    _assert_strongest_pairs_published(engine)

    _assert_published_equal(published, full)
    xref = published["xref"].set_index(["object", "org", "sfid"])["golden_id"]
    assert xref[("contact", *merged[0])] != xref[("contact", *merged[1])]
    assert xref[("account", *apart[0])] == xref[("account", *apart[1])]
    assert quality["contact"].precision >= 0.97 and quality["contact"].recall >= 0.95


def test_runs_that_change_nothing_publish_the_same_and_the_next_change_still_lands(
    database_url, engine, tmp_path
):
    seed_demo(database_url, companies=30)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    before = _published(engine)
    for _ in range(2):  # each finds nothing to score
        run_all(config)
        assert _resolved_incrementally("contact")
        _assert_published_equal(_published(engine), before)

    apply_changes(engine, fraction=0.05, seed=9)
    run_all(config)
    assert _resolved_incrementally("contact")
    incremental = _published(engine)
    run_all(config, full=True)
    _assert_published_equal(incremental, _published(engine))


class _NeverKept(dict):
    """What clustering finds of the comparison step when each runs in its own process."""

    def __setitem__(self, key, value) -> None:
        pass


@pytest.mark.parametrize("steps", ["one process", "own processes"])
def test_the_incremental_run_rescored_only_the_changes(
    database_url, engine, tmp_path, monkeypatch, steps
):
    if steps == "own processes":
        monkeypatch.setattr(incremental_resolution, "_RUNS", _NeverKept())
    seed_demo(database_url, companies=40)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    # Who wrote each kept pair (the transaction id): rescoring rewrites a pair.
    written = "SELECT left_id, right_id, xmin::text AS writer FROM resolve.contact_pair"
    with engine.begin() as conn:
        before = pd.read_sql_query(text(written), conn).set_index(["left_id", "right_id"])
        sfid, record_id = conn.execute(
            text(
                "SELECT c.sfid, u.record_id FROM sf_amer.contact c JOIN unified.contact u "
                "ON u.org = 'amer' AND u.sfid = c.sfid JOIN resolve.contact_pair p "
                "ON u.record_id IN (p.left_id, p.right_id) ORDER BY c.sfid LIMIT 1"
            )
        ).one()
        conn.execute(
            text(
                # The state is published, not compared: the pairs stay what they were.
                "UPDATE sf_amer.contact SET mailingstate = 'Listening', "
                "systemmodstamp = now() AT TIME ZONE 'UTC' WHERE sfid = :sfid"
            ),
            {"sfid": sfid},
        )
    run_all(config)
    assert _resolved_incrementally("contact")
    with engine.connect() as conn:
        after = pd.read_sql_query(text(written), conn).set_index(["left_id", "right_id"])
        changed = conn.execute(text("SELECT count(*) FROM resolve.changed")).scalar_one()
    assert golden_value(engine, "contact", "amer", sfid, "mailing_state") == "Listening"
    assert changed == 0  # published, so nothing pending
    assert before.index.sort_values().equals(after.index.sort_values())  # same pairs kept
    mine = before.index.to_frame().isin([record_id]).any(axis=1).to_numpy()
    rewritten = before["writer"] != after.loc[before.index, "writer"]
    assert rewritten[mine].all() and not rewritten[~mine].any()
