"""Incremental report tables: after a day of changes to every table, a deal moved to
another account and an account deleted, the account summaries and pipeline by month
an incremental run publishes (only the touched accounts' rows rebuilt) are those a
whole rebuild publishes."""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import text

from demo.changes import apply_changes
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config
from warehouse import checks

_NOW = "now() AT TIME ZONE 'UTC'"
_KEYS = {"account_summary": "golden_id", "pipeline_by_month": "row_key"}


def _reports(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {
            table: pd.read_sql_query(
                text(f"SELECT * FROM golden.{table} ORDER BY {key}"), conn
            ).drop(columns=["created_at", "updated_at"])
            for table, key in _KEYS.items()
        }


def _summary(engine, golden_id: str) -> dict | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text("SELECT * FROM golden.account_summary WHERE golden_id = :g"), {"g": golden_id}
            )
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


def _account_of(engine, sfid: str) -> str:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT golden_account_id FROM golden.opportunity WHERE org = 'amer' AND sfid = :s"
            ),
            {"s": sfid},
        ).scalar_one()


def _move_a_deal_and_delete_an_account(engine) -> tuple[str, str]:
    """An open amer deal moved to another account; another account with deals deleted.
    Returns the moved deal's sfid and the deleted account's."""
    with engine.begin() as conn:
        deal = conn.execute(
            text(
                "SELECT sfid, accountid FROM sf_amer.opportunity "
                "WHERE NOT isdeleted AND NOT isclosed AND accountid IS NOT NULL "
                "ORDER BY sfid LIMIT 1"
            )
        ).one()
        target = conn.execute(
            text(
                "SELECT sfid FROM sf_amer.account WHERE NOT isdeleted AND sfid <> :a "
                "ORDER BY sfid LIMIT 1"
            ),
            {"a": deal.accountid},
        ).scalar_one()
        conn.execute(
            text(
                "UPDATE sf_amer.opportunity SET accountid = :t, "
                f"systemmodstamp = {_NOW} WHERE sfid = :s"
            ),
            {"t": target, "s": deal.sfid},
        )
        gone = conn.execute(
            text(
                "SELECT accountid FROM sf_amer.opportunity WHERE NOT isdeleted "
                "AND accountid NOT IN (:a, :t) GROUP BY accountid ORDER BY accountid LIMIT 1"
            ),
            {"a": deal.accountid, "t": target},
        ).scalar_one()
        conn.execute(
            text(
                "UPDATE sf_amer.account SET isdeleted = true, "
                f"systemmodstamp = {_NOW} WHERE sfid = :g"
            ),
            {"g": gone},
        )
    return deal.sfid, gone


def test_incremental_reports_equal_a_whole_rebuild(database_url, engine, tmp_path, caplog):
    seed_demo(database_url, companies=120)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    before = _reports(engine)

    moved, _ = _move_a_deal_and_delete_an_account(engine)
    old_account = _account_of(engine, moved)
    old_summary = _summary(engine, old_account)
    apply_changes(engine, 0.05, seed=5)
    with caplog.at_level(logging.INFO, logger="org360.progress"):
        run_all(config)
    assert "rows of changed accounts rebuilt" in caplog.text
    incremental = _reports(engine)
    assert not incremental["account_summary"].equals(before["account_summary"])
    new_account = _account_of(engine, moved)
    assert new_account != old_account
    after = _summary(engine, old_account)
    assert after is None or after["open_opportunities"] == old_summary["open_opportunities"] - 1

    # A new year rebuilds the reports whole ("this year" moved), and the publication,
    # incremental otherwise, compares every report row: nothing differs.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE resolve.state SET fingerprint = '1999/EUR' WHERE object = 'reports'")
        )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="org360.progress"):
        run_all(config)
    assert "rows of changed accounts rebuilt" not in caplog.text
    assert "golden_next.account_summary: " in caplog.text
    whole = _reports(engine)
    for table in _KEYS:
        pd.testing.assert_frame_equal(whole[table], incremental[table])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM golden_next.report_scope")).scalar() == 0

    # The summaries' check, in an incremental build, looks at the accounts whose
    # report rows it rewrote: a wrong figure among them is found.
    wrong = new_account
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE golden_next.account_summary SET open_opportunities = "
                "open_opportunities + 1 WHERE golden_id = :g"
            ),
            {"g": wrong},
        )
    assert checks.account_summaries_wrong(engine) == (0, [])  # not rewritten: passed before
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO golden_next.report_scope (golden_account_id) VALUES (:g)"),
            {"g": wrong},
        )
    assert checks.account_summaries_wrong(engine) == (1, [wrong])
