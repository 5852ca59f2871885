"""The whole chain on a real Postgres: demo orgs in, golden tables out."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from sqlalchemy import text

from core.catalogue import CATALOGUE, OBJECTS
from dedupe.estimate import MODEL_VERSION
from dedupe.identity import new_golden_id
from demo.seed import evaluate
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config
from warehouse import comparison, frames
from warehouse.publish import NextPublicationMissing, publish
from warehouse.resolution import resolve_object


def _frame(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(text(sql), conn)


def test_run_publishes_golden_records_with_quality(database_url, engine, tmp_path):
    # Big enough for the quality floors to mean something (a few hundred true pairs).
    data = seed_demo(database_url, companies=200)
    config = write_config(tmp_path / "org360.yaml", database_url)

    run_all(config)

    xref = _frame(engine, "SELECT object, org, sfid, golden_id, match_weight FROM golden.xref")
    # The truth also says which company each lead works for (`lead_company`): no record.
    live = data.truth.loc[data.truth["object"].isin(OBJECTS), ["object", "org", "sfid"]]
    assert len(xref) == len(live)
    assert set(map(tuple, xref[["object", "org", "sfid"]].values)) == set(map(tuple, live.values))

    accounts = _frame(engine, "SELECT * FROM golden.account")
    contacts = _frame(engine, "SELECT * FROM golden.contact")
    assert accounts["name"].notna().all()
    assert contacts["name"].notna().all()
    assert set(contacts["account_golden_id"].dropna()) <= set(accounts["golden_id"])
    # member counts add up to the xref
    assert accounts["member_count"].sum() == (xref["object"] == "account").sum()
    # provenance names an org and sfid that are members of the same golden record
    row = accounts.sort_values("member_count").iloc[-1]
    members = xref[(xref.golden_id == row.golden_id)]
    source = row.provenance["name"]
    assert (source["org"], source["sfid"]) in set(zip(members.org, members.sfid, strict=True))
    assert set(row.orgs.split(",")) == set(members.org)

    # A first run gives each golden record the id made from its smallest member key, in
    # code point order as Python compares (the build takes the minimum in SQL).
    keys = xref.assign(key=xref["org"] + "/" + xref["sfid"])
    smallest = keys.groupby(["object", "golden_id"])["key"].agg(lambda k: min(k.tolist()))
    for (obj, golden_id), key in smallest.items():
        assert golden_id == new_golden_id(obj, CATALOGUE[obj].golden_prefix, key)

    # Every merged record says how strongly it matched; singletons have nothing to say.
    sizes = xref.groupby("golden_id")["sfid"].transform("size")
    assert xref.loc[sizes > 1, "match_weight"].notna().all()
    assert xref.loc[sizes == 1, "match_weight"].isna().all()

    quality = evaluate(engine)
    assert quality["account"].precision >= 0.95 and quality["account"].recall >= 0.90
    assert quality["contact"].precision >= 0.95 and quality["contact"].recall >= 0.90

    review = _frame(engine, "SELECT * FROM golden.duplicate_review")
    assert (review.golden_id_a != review.golden_id_b).all()
    assert all("first_name" in w or "name" in w for w in review.field_weights)


def test_rerun_with_unchanged_input_keeps_every_golden_id(database_url, engine, tmp_path):
    seed_demo(database_url, companies=40)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    before = _frame(engine, "SELECT object, org, sfid, golden_id FROM golden.xref")
    updated_before = _frame(engine, "SELECT golden_id, updated_at FROM golden.account")

    run_all(config)

    after = _frame(engine, "SELECT object, org, sfid, golden_id FROM golden.xref")
    merged = before.merge(after, on=["object", "org", "sfid"], suffixes=("_before", "_after"))
    assert len(merged) == len(before) == len(after)
    assert (merged.golden_id_before == merged.golden_id_after).all()
    # Nothing changed, so nothing was rewritten.
    updated_after = _frame(engine, "SELECT golden_id, updated_at FROM golden.account")
    pd.testing.assert_frame_equal(
        updated_before.sort_values("golden_id").reset_index(drop=True),
        updated_after.sort_values("golden_id").reset_index(drop=True),
    )


def test_a_lost_next_publication_is_built_again_and_publishes_the_same(
    database_url, engine, tmp_path
):
    seed_demo(database_url, companies=40)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    # The next publication's record tables are unlogged; what awaits publication is not.
    persistence = dict(
        _frame(
            engine,
            "SELECT c.relname, c.relpersistence FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'golden_next' AND c.relkind = 'r'",
        ).values
    )
    assert {t for t, p in persistence.items() if p == "p"} == {
        "changed",
        "report_scope",
        "review_scope",
    }
    assert set(OBJECTS) | {"xref", "duplicate_review"} <= set(persistence)
    published = "SELECT object, org, sfid, golden_id FROM golden.xref ORDER BY 1, 2, 3"
    before = _frame(engine, published)
    accounts_before = _frame(engine, "SELECT * FROM golden.account ORDER BY golden_id")

    # What a crash or a failover leaves of unlogged tables: nothing.
    with engine.begin() as conn:
        for table in persistence:
            if persistence[table] == "u":
                conn.exec_driver_sql(f"TRUNCATE golden_next.{table}")
    # Asked for alone (from the UI, say), a publication refuses to empty the published
    # tables.
    with pytest.raises(NextPublicationMissing, match=r"golden_next\.xref is empty"):
        publish(engine)
    pd.testing.assert_frame_equal(_frame(engine, published), before)

    run_all(config)

    with engine.connect() as conn:
        assert not conn.execute(
            text("SELECT incremental FROM org360.publication ORDER BY id DESC LIMIT 1")
        ).scalar_one()
        for table in ("xref", *OBJECTS):
            rows = (
                f"SELECT count(*) FROM golden_next.{table} "
                f"UNION ALL SELECT count(*) FROM golden.{table}"
            )
            next_rows, published_rows = conn.execute(text(rows)).scalars()
            assert next_rows == published_rows > 0, table
    pd.testing.assert_frame_equal(_frame(engine, published), before)
    # Built again whole, published by difference: nothing to rewrite.
    pd.testing.assert_frame_equal(
        _frame(engine, "SELECT * FROM golden.account ORDER BY golden_id"), accounts_before
    )


def test_a_stored_model_is_reused_until_its_version_or_the_data_size_changes(
    database_url, engine, tmp_path
):
    seed_demo(database_url, companies=40)
    run_all(write_config(tmp_path / "org360.yaml", database_url))

    assert not resolve_object(engine, "contact").refitted  # same data, same version
    with engine.begin() as conn:
        # A model stored by an earlier org360, fitted without today's measurements.
        conn.execute(
            text(
                "UPDATE org360.match_model SET parameters = parameters - 'version' "
                "WHERE object = 'contact'"
            )
        )
    assert resolve_object(engine, "contact").refitted
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT parameters FROM org360.match_model WHERE object = 'contact'")
        ).scalar_one()
    assert stored["version"] == MODEL_VERSION and stored["dependence"]
    assert not resolve_object(engine, "contact").refitted


def test_sharded_and_forked_comparisons_find_the_same_pairs_and_clusters(
    database_url, engine, tmp_path, monkeypatch
):
    seed_demo(database_url, companies=40)
    run_all(write_config(tmp_path / "org360.yaml", database_url))

    def outcome(shards: int, workers: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
        report = resolve_object(engine, "contact", shards=shards, full=True, workers=workers)
        assert report.shards == shards
        pairs = _frame(
            engine,
            "SELECT left_id, right_id, match_weight, is_match, field_weights::text AS weights "
            "FROM resolve.contact_pair ORDER BY left_id, right_id",
        )
        clusters = _frame(
            engine, "SELECT record_id, cluster_id FROM resolve.contact_cluster ORDER BY record_id"
        )
        return pairs, clusters

    pairs_one, clusters_one = outcome(1)
    pairs_five, clusters_five = outcome(5)
    assert len(pairs_one) > 50
    pd.testing.assert_frame_equal(pairs_one, pairs_five)
    pd.testing.assert_frame_equal(clusters_one, clusters_five)

    # Each shard's pairs scored in pieces by forked workers (every shard is small here).
    monkeypatch.setattr(comparison, "MIN_PAIRS_PER_WORKER", 1)
    scored_in: set[int] = set()
    real_fork_map = comparison.fork_map

    def recording_fork_map(task, count, workers, **kwargs):
        results = real_fork_map(lambda i: (os.getpid(), task(i)), count, workers, **kwargs)
        scored_in.update(pid for pid, _ in results)
        return [result for _, result in results]

    monkeypatch.setattr(comparison, "fork_map", recording_fork_map)
    pairs_forked, clusters_forked = outcome(2, workers=3)
    assert len(scored_in) >= 2 and os.getpid() not in scored_in
    pd.testing.assert_frame_equal(pairs_one, pairs_forked)
    pd.testing.assert_frame_equal(clusters_one, clusters_forked)


def test_the_first_publication_keeps_the_indexes_and_notifies_services(
    database_url, engine, tmp_path
):
    def indexes() -> pd.DataFrame:
        return _frame(
            engine,
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'golden' ORDER BY tablename, indexname",
        )

    before = indexes()  # the test database is migrated and its golden tables empty
    assert (before.indexname == "golden_account_name_trgm").any()
    seed_demo(database_url, companies=20)
    listener = engine.raw_connection()
    try:
        listener.driver_connection.autocommit = True
        listener.driver_connection.cursor().execute("LISTEN org360_publication")
        run_all(write_config(tmp_path / "org360.yaml", database_url))
        listener.driver_connection.poll()
        # Services hear of the publication (they drop cached counts).
        assert [n.channel for n in listener.driver_connection.notifies] == ["org360_publication"]
    finally:
        listener.close()
    pd.testing.assert_frame_equal(before, indexes())


def test_records_looked_up_in_halves_come_back_whole_and_in_order(
    database_url, engine, tmp_path, monkeypatch
):
    seed_demo(database_url, companies=20)
    run_all(write_config(tmp_path / "org360.yaml", database_url))
    ids = _frame(engine, "SELECT record_id FROM unified.contact")["record_id"].to_numpy()
    wanted = ids[::2][::-1]  # every other record, in no particular order
    whole = frames.load_frame(engine, "contact", wanted)
    monkeypatch.setattr(frames, "SPLIT_ROWS", 2)
    halves = frames.load_frame(engine, "contact", wanted)
    assert len(whole) == len(wanted) and whole["record_id"].is_monotonic_increasing
    pd.testing.assert_frame_equal(whole, halves)
