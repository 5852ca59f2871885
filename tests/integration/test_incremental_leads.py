"""Incremental lead matching: after leads, contacts and accounts change, the leads an
incremental run matches again and the ones it keeps come out as a full matching of
the same records finds them, and leads no change concerns are not compared again."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
from sqlalchemy import text

from demo.changes import apply_changes
from pipelines.runner import run_all
from tests.helpers.orgs import golden_value, seed_demo, write_config
from warehouse.leads import match_leads
from warehouse.steward import Decision, record_decision

_LINKS = ["org", "sfid", "record_id", "cluster_org", "cluster_sfid"]
_LINKS += ["contact_org", "contact_sfid", "account_org", "account_sfid"]
_WEIGHTS = ["contact_weight", "account_weight"]
_NOW = "now() AT TIME ZONE 'UTC'"


def _lead_matches(conn) -> pd.DataFrame:
    frame = pd.read_sql_query(text("SELECT * FROM resolve.lead_match"), conn)
    return frame.sort_values(["org", "sfid"]).reset_index(drop=True)


def _full_matching(engine) -> pd.DataFrame:
    """resolve.lead_match as a full matching of the records as they are finds it (in a
    transaction rolled back: the stored results stay the incremental run's)."""
    with engine.connect() as conn:
        trans = conn.begin()
        report = match_leads(conn, again=True).report
        assert report.matched and not report.incremental
        found = _lead_matches(conn)
        trans.rollback()
    return found


def _assert_as_full(engine) -> pd.DataFrame:
    """The stored results equal a full matching's: the same links; the weights of pairs
    kept from earlier runs were scored with the names' frequencies then, so they may
    move by the tenth of a bit the results keep."""
    with engine.connect() as conn:
        incremental = _lead_matches(conn)
    full = _full_matching(engine)
    pd.testing.assert_frame_equal(incremental[_LINKS], full[_LINKS])
    for column in _WEIGHTS:
        a, b = incremental[column].to_numpy(), full[column].to_numpy()
        assert (np.isnan(a) == np.isnan(b)).all(), column
        assert np.nanmax(np.abs(a - b), initial=0) <= 0.1 + 1e-9, column
    return incremental


def _reported(name: str):
    """What the latest golden lead build told Dagster about the matching."""
    event = dg.DagsterInstance.get().get_latest_materialization_event(
        dg.AssetKey(["golden_next", "lead"])
    )
    assert event is not None and event.asset_materialization is not None
    return event.asset_materialization.metadata[name].value


def _one(conn, sql: str, **params) -> dict:
    return dict(conn.execute(text(sql), params).mappings().first())


def _pick(conn) -> dict[str, dict]:
    """Leads and customers to change: each lead alone in its cluster, each record used
    once."""
    alone = (
        "m.cluster_org = m.org AND m.cluster_sfid = m.sfid AND NOT EXISTS (SELECT 1 "
        "FROM resolve.lead_match o WHERE o.cluster_org = m.org AND o.cluster_sfid = m.sfid "
        "AND (o.org, o.sfid) <> (m.org, m.sfid))"
    )
    # A contact a lead matched by a pair of its own (not through its cluster).
    own_contact = (
        f"SELECT m.org, m.sfid, m.contact_org, m.contact_sfid FROM resolve.lead_match m "
        f"JOIN unified.contact c ON c.org = m.contact_org AND c.sfid = m.contact_sfid "
        f"JOIN resolve.lead_match_pair p ON p.lead_id = m.record_id AND p.other = 'contact' "
        f"AND p.other_id = c.record_id WHERE {alone} "
        "AND NOT (m.sfid = ANY(:used)) AND NOT (m.contact_sfid = ANY(:used)) "
        "ORDER BY m.sfid LIMIT 1"
    )
    picked: dict[str, dict] = {}

    def used() -> list[str]:
        return [sfid for row in picked.values() for sfid in row.values() if sfid]

    picked["unmatched"] = _one(
        conn,
        f"SELECT m.org, m.sfid, u.first_name, u.last_name, u.email FROM resolve.lead_match m "
        f"JOIN unified.lead u USING (org, sfid) WHERE {alone} AND m.contact_sfid IS NULL "
        "AND u.email IS NOT NULL AND u.first_name IS NOT NULL AND u.last_name IS NOT NULL "
        "ORDER BY m.sfid LIMIT 1",
    )
    picked["broken"] = _one(conn, own_contact, used=used())
    picked["orphaned"] = _one(conn, own_contact, used=used())
    # A contact no lead matched, to become the unmatched lead's, and one to be led again.
    free = (
        "SELECT c.org, c.sfid, c.first_name, c.last_name, c.email FROM unified.contact c "
        "WHERE c.email IS NOT NULL AND c.first_name IS NOT NULL AND c.last_name IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM resolve.lead_match m WHERE m.contact_org = c.org "
        "AND m.contact_sfid = c.sfid) AND NOT (c.sfid = ANY(:used)) ORDER BY c.sfid LIMIT 1"
    )
    picked["found"] = _one(conn, free, used=used())
    picked["led"] = _one(conn, free, used=used())
    picked["renamed"] = _one(
        conn,
        f"SELECT m.org, m.sfid, m.account_org, m.account_sfid FROM resolve.lead_match m "
        f"WHERE {alone} AND m.contact_sfid IS NULL AND m.account_sfid IS NOT NULL "
        "AND NOT (m.sfid = ANY(:used)) ORDER BY m.sfid LIMIT 1",
        used=used(),
    )
    picked["idle"] = _one(
        conn,
        "SELECT m.org, m.sfid FROM resolve.lead_match m WHERE NOT (m.sfid = ANY(:used)) "
        "ORDER BY m.sfid DESC LIMIT 1",
        used=used(),
    )
    return picked


def _change(conn, org: str, table: str, sfid: str, assignments: str, **values) -> None:
    done = conn.execute(
        text(
            f"UPDATE sf_{org}.{table} SET {assignments}, systemmodstamp = {_NOW} WHERE sfid = :sfid"
        ),
        {"sfid": sfid, **values},
    )
    assert done.rowcount == 1


def test_an_incremental_lead_matching_finds_what_a_full_one_finds(database_url, engine, tmp_path):
    seed_demo(database_url, companies=250)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    assert _reported("matched_afresh") == 1
    with engine.begin() as conn:
        leads = conn.execute(text("SELECT count(*) FROM resolve.lead_match")).scalar_one()
        p = _pick(conn)
        unmatched, broken, orphaned = p["unmatched"], p["broken"], p["orphaned"]
        found, led, renamed = p["found"], p["led"], p["renamed"]
        # A contact is typed again as the unmatched lead: now it matches.
        _change(
            conn,
            found["org"],
            "contact",
            found["sfid"],
            "firstname = :first, lastname = :last, email = :email",
            first=unmatched["first_name"],
            last=unmatched["last_name"],
            email=unmatched["email"],
        )
        # A lead's contact becomes someone else: the match breaks.
        _change(
            conn,
            broken["contact_org"],
            "contact",
            broken["contact_sfid"],
            "firstname = 'Ottoline', lastname = 'Quarrington-Vex', "
            "email = 'ottoline.qv@elsewhere.example', phone = NULL, mobilephone = NULL",
        )
        # A lead's contact is deleted.
        _change(
            conn, orphaned["contact_org"], "contact", orphaned["contact_sfid"], "isdeleted = true"
        )
        # A lead's account is renamed, its website and phone dropped: the link breaks.
        _change(
            conn,
            renamed["account_org"],
            "account",
            renamed["account_sfid"],
            "name = 'Zyxwv Quillfeather Works', website = NULL, phone = NULL",
        )
        # A lead's status changes: nothing it is matched by.
        _change(conn, p["idle"]["org"], "lead", p["idle"]["sfid"], "status = 'Working - Contacted'")
        # A new lead, of a customer no lead stood for.
        conn.execute(
            text(
                "INSERT INTO sf_apac.lead (sfid, firstname, lastname, email, isconverted, "
                f"systemmodstamp, isdeleted, _hc_lastop) VALUES ('00QAp0000000NEWLD1', :first, "
                f":last, :email, false, {_NOW}, false, 'SYNCED')"
            ),
            {"first": led["first_name"], "last": led["last_name"], "email": led["email"]},
        )

    # Which transaction wrote each lead's row and pairs: matching a lead again rewrites them.
    written = "SELECT record_id, xmin::text AS writer FROM resolve.lead_match"
    pairs_written = "SELECT lead_id, xmin::text AS writer FROM resolve.lead_match_pair"
    with engine.connect() as conn:
        rows_before = pd.read_sql_query(text(written), conn).set_index("record_id")
        pairs_before = pd.read_sql_query(text(pairs_written), conn)
    # A steward splits a golden contact two leads matched (one member each): the golden
    # contact of one of them changes, though no record either lead is matched with does.
    with engine.connect() as conn:
        split = conn.execute(
            text(
                "SELECT org, sfid FROM golden.xref WHERE object = 'contact' AND golden_id = "
                "(SELECT x.golden_id FROM golden.xref x JOIN golden.contact g "
                "ON g.golden_id = x.golden_id AND g.member_count = 2 "
                "JOIN resolve.lead_match m ON m.contact_org = x.org AND m.contact_sfid = x.sfid "
                "WHERE x.object = 'contact' AND NOT (x.sfid = ANY(:used)) GROUP BY x.golden_id "
                "HAVING count(DISTINCT x.sfid) = 2 ORDER BY x.golden_id LIMIT 1) "
                "ORDER BY org, sfid"
            ),
            {"used": [sfid for row in p.values() for sfid in row.values() if sfid]},
        ).all()
    assert len(split) == 2
    record_decision(engine, Decision("contact", *split[0], *split[1], "no_match", "steward"))

    run_all(config)
    assert _reported("matched_incrementally") == 1 and _reported("matched_afresh") == 0
    compared, relinked = _reported("leads_compared"), _reported("leads_relinked")
    with engine.connect() as conn:
        led_by = conn.execute(
            text(
                "SELECT m.org, m.sfid, m.contact_org, m.contact_sfid FROM resolve.lead_match m "
                "WHERE (m.contact_org, m.contact_sfid) IN ((:o1, :s1), (:o2, :s2))"
            ),
            {"o1": split[0][0], "s1": split[0][1], "o2": split[1][0], "s2": split[1][1]},
        ).all()
    assert {(row[2], row[3]) for row in led_by} == {tuple(split[0]), tuple(split[1])}
    for org, sfid, contact_org, contact_sfid in led_by:
        assert golden_value(engine, "lead", org, sfid, "golden_contact_id") == (
            golden_value(engine, "contact", contact_org, contact_sfid, "golden_id")
        )
    # The leads the changes concern, not every lead.
    assert 5 <= compared <= relinked < leads / 4, (compared, relinked, leads)
    with engine.connect() as conn:
        rows_after = pd.read_sql_query(text(written), conn).set_index("record_id")
        pairs_after = pd.read_sql_query(text(pairs_written), conn)
    kept = rows_before.join(rows_after, rsuffix="_after", how="inner")
    rewritten = kept["writer"] != kept["writer_after"]
    assert rewritten.sum() + len(rows_after.index.difference(rows_before.index)) == relinked
    # Pairs rewritten: those of the leads compared again (and of the leads paired with
    # them): most leads' pairs are the full matching's still.
    untouched = set(pairs_before["writer"]) & set(pairs_after["writer"])
    assert pairs_after["writer"].isin(untouched).mean() > 0.75
    after = _assert_as_full(engine).set_index(["org", "sfid"])

    def contact_of(lead: dict) -> tuple:
        row = after.loc[(lead["org"], lead["sfid"])]
        return row["contact_org"], row["contact_sfid"]

    assert contact_of(unmatched) == (found["org"], found["sfid"])
    assert contact_of(broken) != (broken["contact_org"], broken["contact_sfid"])
    assert contact_of(orphaned) != (orphaned["contact_org"], orphaned["contact_sfid"])
    assert contact_of({"org": "apac", "sfid": "00QAp0000000NEWLD1"}) == (led["org"], led["sfid"])
    row = after.loc[(renamed["org"], renamed["sfid"])]
    assert (row["account_org"], row["account_sfid"]) != (
        renamed["account_org"],
        renamed["account_sfid"],
    )
    # Published: the lead typed again is the customer's golden contact.
    assert golden_value(
        engine, "lead", unmatched["org"], unmatched["sfid"], "golden_contact_id"
    ) == (golden_value(engine, "contact", found["org"], found["sfid"], "golden_id"))

    # A day of changes to every table, twice: the stored keys take each run's change.
    for seed in (5, 6):
        changes = apply_changes(engine, fraction=0.03, seed=seed)
        changed = {t.split(".")[1] for t, count in changes.by_table.items() if count}
        assert {"lead", "contact", "account"} <= changed
        run_all(config)
        assert _reported("matched_incrementally") == 1
        assert _reported("leads_compared") < leads / 2
        _assert_as_full(engine)

    # Published as a full run publishes: the golden leads whose customers moved were
    # rebuilt, though nothing changed in them.
    published = _golden_leads(engine)
    run_all(config, full=True)
    assert _reported("matched_afresh") == 1
    again = _golden_leads(engine)
    columns = ["lead_cluster_id", "golden_contact_id", "golden_account_id"]
    pd.testing.assert_frame_equal(published[columns], again[columns])
    weights = (published["match_weight"] - again["match_weight"]).abs()
    assert (published["match_weight"].isna() == again["match_weight"].isna()).all()
    assert weights.max() <= 0.1 + 1e-9


def _golden_leads(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                "SELECT golden_id, lead_cluster_id, golden_contact_id, golden_account_id, "
                "match_weight FROM golden.lead ORDER BY golden_id"
            ),
            conn,
        ).set_index("golden_id")


def test_records_grown_past_the_stored_model_are_matched_afresh(database_url, engine, tmp_path):
    seed_demo(database_url, companies=40)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    with engine.connect() as conn:
        models = dict(
            conn.execute(
                text(
                    "SELECT object, (parameters->>'records')::int FROM org360.match_model "
                    "WHERE object LIKE 'lead_%'"
                )
            ).all()
        )
    # New prospects nobody knows: the company model's records (the leads that match no
    # person, and the accounts) grow past what its stored model serves; the person
    # model's (every lead and contact) do not.
    prospects = int(models["lead_company"] * 0.12) + 1
    assert prospects < models["lead_person"] * 0.1
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sf_apac.lead (sfid, firstname, lastname, company, isconverted, "
                "systemmodstamp, isdeleted, _hc_lastop) SELECT '00QApP' || lpad(n::text, 12, '0'), "
                "'Prospect', 'Quillon' || n, 'Quillon Works ' || n, false, "
                f"{_NOW}, false, 'SYNCED' FROM generate_series(1, :count) AS n"
            ),
            {"count": prospects},
        )
    run_all(config)
    # The incremental matching found the company model due for a refit and left nothing
    # behind: the leads were matched afresh, with a model fitted on the records now.
    assert _reported("matched_afresh") == 1 and _reported("matched_incrementally") == 0
    with engine.connect() as conn:
        refitted_on = conn.execute(
            text("SELECT parameters->>'records' FROM org360.match_model WHERE object = :obj"),
            {"obj": "lead_company"},
        ).scalar_one()
    assert int(refitted_on) > models["lead_company"] * 1.1
    _assert_as_full(engine)


def test_an_installation_without_leads_keeps_no_keys_until_leads_arrive(
    database_url, engine, tmp_path
):
    seed_demo(database_url, companies=30)
    config = write_config(tmp_path / "org360.yaml", database_url)
    with engine.begin() as conn:
        schemas = (
            conn.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = 'lead' "
                    "AND table_schema LIKE 'sf\\_%' ORDER BY table_schema"
                )
            )
            .scalars()
            .all()
        )
        assert schemas
        for schema in schemas:
            conn.exec_driver_sql(f"CREATE TABLE {schema}.lead_aside AS TABLE {schema}.lead")
            conn.exec_driver_sql(f"DELETE FROM {schema}.lead")
    run_all(config)
    assert _reported("leads") == 0
    with engine.connect() as conn:
        for table in ("lead_match", "lead_match_pair", "lead_match_key", "lead_match_frequency"):
            assert conn.execute(text(f"SELECT count(*) FROM resolve.{table}")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM golden.lead")).scalar() == 0
    with engine.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f"INSERT INTO {schema}.lead TABLE {schema}.lead_aside")
            conn.exec_driver_sql(f"UPDATE {schema}.lead SET systemmodstamp = {_NOW}")
    run_all(config)
    assert _reported("matched_afresh") == 1 and _reported("leads") > 0
    matches = _assert_as_full(engine)
    assert matches["contact_sfid"].notna().any()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM golden.lead")).scalar() == len(matches)
        assert conn.execute(text("SELECT count(*) FROM resolve.lead_match_key")).scalar() > 0
