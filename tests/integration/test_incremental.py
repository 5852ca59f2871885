"""Incremental runs: what changed in Heroku Connect shows up, what did not keeps its id."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from demo.seed import evaluate
from pipelines.runner import run_all
from tests.helpers.orgs import golden_value, seed_demo, write_config


def _xref(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text("SELECT object, org, sfid, golden_id FROM golden.xref"), conn
        ).set_index(["object", "org", "sfid"])


def test_update_soft_delete_delete_and_new_duplicate(database_url, engine, tmp_path):
    seed_demo(database_url, companies=50)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    before = _xref(engine)

    with engine.begin() as conn:
        # An account whose golden record has a single member, renamed in Salesforce.
        single = conn.execute(
            text(
                "SELECT x.sfid FROM golden.xref x JOIN golden.account g USING (golden_id) "
                "WHERE x.object = 'account' AND x.org = 'amer' AND g.member_count = 1 "
                "ORDER BY x.sfid LIMIT 1"
            )
        ).scalar_one()
        conn.execute(
            text(
                "UPDATE sf_amer.account SET name = 'Renamed Holdings Zeta', "
                "systemmodstamp = now() AT TIME ZONE 'UTC' WHERE sfid = :sfid"
            ),
            {"sfid": single},
        )
        # A contact soft-deleted (isdeleted) and another one deleted outright.
        soft, hard = (
            conn.execute(
                text(
                    "SELECT sfid FROM sf_emea.contact WHERE sfid IS NOT NULL AND NOT isdeleted "
                    "ORDER BY sfid LIMIT 2"
                )
            )
            .scalars()
            .all()
        )
        conn.execute(
            text(
                "UPDATE sf_emea.contact SET isdeleted = true, "
                "systemmodstamp = now() AT TIME ZONE 'UTC' WHERE sfid = :sfid"
            ),
            {"sfid": soft},
        )
        conn.execute(text("DELETE FROM sf_emea.contact WHERE sfid = :sfid"), {"sfid": hard})
        # A new duplicate of an existing apac account, typed in again with a new sfid.
        original = (
            conn.execute(
                text(
                    "SELECT * FROM sf_apac.account WHERE sfid IS NOT NULL AND NOT isdeleted "
                    "ORDER BY sfid LIMIT 1"
                )
            )
            .mappings()
            .one()
        )
        copy = {k: v for k, v in original.items() if k != "id"}
        copy["sfid"] = "001Ap9999999999999"
        copy["systemmodstamp"] = pd.Timestamp.now("UTC").tz_localize(None)
        columns = ", ".join(copy)
        conn.execute(
            text(
                f"INSERT INTO sf_apac.account ({columns}) "
                f"VALUES ({', '.join(':' + c for c in copy)})"
            ),
            copy,
        )

    run_all(config)
    after = _xref(engine)

    assert ("contact", "emea", soft) not in after.index
    assert ("contact", "emea", hard) not in after.index
    new_key = ("account", "apac", "001Ap9999999999999")
    assert (
        after.loc[new_key, "golden_id"]
        == after.loc[("account", "apac", original["sfid"]), "golden_id"]
    )
    assert golden_value(engine, "account", "amer", single, "name") == "Renamed Holdings Zeta"
    untouched = before.index.intersection(after.index).difference(
        [("contact", "emea", soft), ("contact", "emea", hard)]
    )
    changed = before.loc[untouched, "golden_id"] != after.loc[untouched, "golden_id"]
    assert not changed.any(), before.loc[untouched][changed]
    assert len(after) == len(before) - 2 + 1


def test_a_source_table_created_again_is_read_in_full(database_url, engine, tmp_path):
    """Recreated Connect tables may hold rows older than the watermark: none may be missed."""
    seed_demo(database_url, companies=30, seed_value=5)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    # Every org's tables dropped and created again with other records, whose
    # systemmodstamps are no newer than those the watermark has seen.
    seed_demo(database_url, companies=30, seed_value=6)
    run_all(config)
    quality = evaluate(engine)
    assert quality["account"].precision >= 0.95 and quality["contact"].precision >= 0.95
    with engine.connect() as conn:
        staged = conn.execute(text("SELECT count(*) FROM staging.contact")).scalar_one()
        truth = conn.execute(
            text("SELECT count(*) FROM demo.truth WHERE object = 'contact'")
        ).scalar_one()
    assert staged == truth
