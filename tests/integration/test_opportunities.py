"""Opportunities from every org in one reporting currency: dated and static rates, an org
without multiple currencies, a missing rate, the stage map, and an incremental run with
a deleted, a re-parented and a re-rated opportunity. The expected amounts are worked out
here, independently of org360's SQL."""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from core.database import make_engine
from core.settings import load_settings
from demo.seed import evaluate_deals
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config
from tests.integration.odata.conftest import PASSWORD, USER, running_server
from warehouse.currency import RatesError, load_rates_file, stage_rates
from warehouse.review_queue import RULE_REVIEW_WEIGHT
from warehouse.steward import Decision, DecisionError, record_decision, undo_decision
from warehouse_sql import query

REPO = Path(__file__).resolve().parents[2]
CHECKER = Path("../shared/odata/validate_metadata.py")
REPORTING = "EUR"
# amer: corporate USD, static rates and dated EUR rates (advanced currency management).
AMER_STATIC = {"USD": Decimal(1), "EUR": Decimal("0.9"), "GBP": Decimal("0.8")}
AMER_DATED_EUR = [
    (datetime.date(2000, 1, 1), datetime.date(2026, 7, 1), Decimal("0.92")),
    (datetime.date(2026, 7, 1), None, Decimal("0.95")),
]
# apac: corporate JPY, static rates only, no rate for CHF.
APAC_STATIC = {"JPY": Decimal(1), "EUR": Decimal("0.0062")}
# emea: one currency (GBP), no rate tables: its rates come from a file.
EMEA_FILE = "org,isocode,conversionrate,iscorporate\nemea,GBP,1,true\nemea,EUR,1.17,false\n"

OPPORTUNITY_COLUMNS = (
    "id serial PRIMARY KEY, sfid varchar(18) UNIQUE, name varchar(120), accountid varchar(18), "
    "stagename varchar(255), isclosed boolean, iswon boolean, forecastcategoryname varchar(40), "
    "closedate date, amount numeric(18, 2), {currency} probability numeric(3), "
    "type varchar(255), leadsource varchar(255), ownerid varchar(18), createddate timestamp, "
    "systemmodstamp timestamp DEFAULT now(), isdeleted boolean DEFAULT false, "
    "_hc_lastop varchar(32) DEFAULT 'SYNCED'"
)


def _accounts(conn, schema: str) -> list[str]:
    return list(
        conn.execute(
            text(
                f"SELECT sfid FROM {schema}.account WHERE sfid IS NOT NULL AND name IS NOT NULL "
                "AND isdeleted IS NOT TRUE ORDER BY sfid LIMIT 3"
            )
        ).scalars()
    )


def _seed(engine) -> dict[str, dict]:
    """Opportunities in three orgs; returns each (org, sfid)'s facts for the checks."""
    rows = {}
    with engine.begin() as conn:
        for schema, multi in (("sf_amer", True), ("sf_emea", False), ("sf_apac", True)):
            # The demo's own pipeline makes way for this test's.
            for table in ("opportunity", "currencytype", "datedconversionrate"):
                conn.execute(text(f"DROP TABLE IF EXISTS {schema}.{table}"))
            currency = "currencyisocode varchar(3)," if multi else ""
            columns = OPPORTUNITY_COLUMNS.format(currency=currency)
            conn.execute(text(f"CREATE TABLE {schema}.opportunity ({columns})"))
        conn.execute(
            text(
                "CREATE TABLE sf_amer.currencytype (id serial, sfid varchar(18), "
                "isocode varchar(3), conversionrate numeric(18, 6), iscorporate boolean)"
            )
        )
        for code, rate in AMER_STATIC.items():
            conn.execute(
                text(
                    "INSERT INTO sf_amer.currencytype (isocode, conversionrate, iscorporate) "
                    "VALUES (:c, :r, :corp)"
                ),
                {"c": code, "r": rate, "corp": code == "USD"},
            )
        conn.execute(
            text(
                "CREATE TABLE sf_amer.datedconversionrate (id serial, sfid varchar(18), "
                "isocode varchar(3), startdate date, nextstartdate date, "
                "conversionrate numeric(18, 6))"
            )
        )
        for start, until, rate in AMER_DATED_EUR:
            conn.execute(
                text(
                    "INSERT INTO sf_amer.datedconversionrate (isocode, startdate, nextstartdate, "
                    "conversionrate) VALUES ('EUR', :s, :n, :r)"
                ),
                {"s": start, "n": until, "r": rate},
            )
        conn.execute(
            text(
                "CREATE TABLE sf_apac.currencytype (id serial, isocode varchar(3), "
                "conversionrate numeric(18, 6), iscorporate boolean)"
            )
        )
        for code, rate in APAC_STATIC.items():
            conn.execute(
                text(
                    "INSERT INTO sf_apac.currencytype (isocode, conversionrate, iscorporate) "
                    "VALUES (:c, :r, :corp)"
                ),
                {"c": code, "r": rate, "corp": code == "JPY"},
            )

        def add(
            schema, org, sfid, account, stage, amount, currency, close, closed=False, won=False
        ):
            columns = "sfid, name, accountid, stagename, isclosed, iswon, closedate, amount"
            values = ":sfid, :name, :account, :stage, :closed, :won, :close, :amount"
            if currency is not None:
                columns += ", currencyisocode"
                values += ", :currency"
            conn.execute(
                text(f"INSERT INTO {schema}.opportunity ({columns}) VALUES ({values})"),
                {
                    "sfid": sfid,
                    "name": f"Deal {sfid[-3:]}",
                    "account": account,
                    "stage": stage,
                    "closed": closed,
                    "won": won,
                    "close": close,
                    "amount": amount,
                    "currency": currency,
                },
            )
            rows[(org, sfid)] = {
                "account": account,
                "stage": stage,
                "amount": amount,
                "currency": currency,
                "close": close,
            }

        amer, emea, apac = (_accounts(conn, s) for s in ("sf_amer", "sf_emea", "sf_apac"))
        june, august = datetime.date(2026, 6, 15), datetime.date(2026, 8, 15)
        add(
            "sf_amer",
            "amer",
            "006Am0000000000001",
            amer[0],
            "Prospecting",
            Decimal(1000),
            "USD",
            june,
        )
        add(
            "sf_amer",
            "amer",
            "006Am0000000000002",
            amer[0],
            "Closed Won",
            Decimal(1000),
            "USD",
            august,
            True,
            True,
        )
        add(
            "sf_amer",
            "amer",
            "006Am0000000000003",
            amer[1],
            "Negotiation",
            Decimal(800),
            "GBP",
            june,
        )
        add(
            "sf_amer",
            "amer",
            "006Am0000000000004",
            amer[1],
            "Prospecting",
            Decimal(500),
            "EUR",
            june,
        )
        add("sf_amer", "amer", "006Am0000000000005", amer[2], "Prospecting", None, "USD", june)
        add(
            "sf_emea",
            "emea",
            "006Em0000000000001",
            emea[0],
            "Qualification",
            Decimal(2000),
            None,
            june,
        )
        add(
            "sf_apac",
            "apac",
            "006Ap0000000000001",
            apac[0],
            "Qualification",
            Decimal(1000000),
            "JPY",
            june,
        )
        add(
            "sf_apac",
            "apac",
            "006Ap0000000000002",
            apac[0],
            "Qualification",
            Decimal(300),
            "CHF",
            june,
        )
    return rows


def _rate(org: str, code: str, day: datetime.date) -> Decimal | None:
    if org == "amer":
        if code == "EUR":
            for start, until, rate in AMER_DATED_EUR:
                if start <= day and (until is None or day < until):
                    return rate
        return AMER_STATIC.get(code)
    if org == "apac":
        return APAC_STATIC.get(code)
    return {"GBP": Decimal(1), "EUR": Decimal("1.17")}.get(code)


def _expected(org: str, row: dict) -> float | None:
    currency = row["currency"] or "GBP"  # emea's one currency
    if row["amount"] is None:
        return None
    if currency == REPORTING:
        return float(row["amount"])
    source, target = _rate(org, currency, row["close"]), _rate(org, REPORTING, row["close"])
    if source is None or target is None:
        return None
    return float(row["amount"] / source * target)


def _published(engine) -> dict[tuple[str, str], dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT o.org, o.sfid, o.golden_id, o.golden_account_id, o.amount, o.currency, "
                "o.amount_reporting, o.reporting_currency, o.stage, o.funnel_stage, "
                "o.is_closed, o.is_won, ax.golden_id AS account_xref "
                "FROM golden.opportunity o JOIN unified.opportunity u "
                "ON u.org = o.org AND u.sfid = o.sfid "
                "LEFT JOIN golden.xref ax ON ax.object = 'account' AND ax.org = u.org "
                "AND ax.sfid = u.account_sfid"
            )
        ).mappings()
        return {(r["org"], r["sfid"]): dict(r) for r in rows}


def test_opportunities_in_one_reporting_currency(database_url, tmp_path, caplog):
    seed_demo(database_url, companies=15)
    engine = make_engine(database_url)
    facts = _seed(engine)
    orgs = [
        {
            "key": "amer",
            "schema": "sf_amer",
            "stages": {"Prospecting": "Qualify", "Closed Won": "Won"},
        },
        {"key": "emea", "schema": "sf_emea", "currency": "GBP"},
        {"key": "apac", "schema": "sf_apac"},
    ]
    config = write_config(tmp_path / "org360.yaml", database_url, orgs)
    config.write_text(f"reporting_currency: {REPORTING}\n" + config.read_text())
    settings = load_settings(config)
    rates = tmp_path / "emea_rates.csv"
    rates.write_text(EMEA_FILE)
    run_all(config)  # the rates file may come before or after a first run
    assert load_rates_file(engine, rates, settings) == {"emea": 2}
    with caplog.at_level(logging.WARNING, logger="org360.progress"):
        run_all(config)

    # Rates read again unchanged are no change (0.92 from a float column and as stored).
    assert not stage_rates(engine, settings.org("amer")).changed
    published = _published(engine)
    assert set(published) == set(facts)  # one golden opportunity per live source one
    for key, row in published.items():
        fact = facts[key]
        assert row["golden_id"].startswith("GO")
        assert row["golden_account_id"] is not None
        assert row["golden_account_id"] == row["account_xref"], key
        assert row["reporting_currency"] == REPORTING
        assert row["currency"] == (fact["currency"] or "GBP"), key
        expected = _expected(key[0], fact)
        if expected is None:
            assert row["amount_reporting"] is None, key
        else:
            assert row["amount_reporting"] == pytest.approx(expected, rel=1e-9), key
    # Dated rates by close date: the same 1000 USD is worth less in EUR before July.
    june = published[("amer", "006Am0000000000001")]["amount_reporting"]
    august = published[("amer", "006Am0000000000002")]["amount_reporting"]
    assert (june, august) == (pytest.approx(920), pytest.approx(950))
    # Stages: mapped where the org maps them; an unmapped stage reported, not guessed.
    assert published[("amer", "006Am0000000000002")]["funnel_stage"] == "Won"
    assert published[("amer", "006Am0000000000003")]["funnel_stage"] is None
    assert published[("amer", "006Am0000000000002")]["is_won"] is True
    warned = caplog.text
    assert "1 opportunities of org 'apac' in CHF have no rate" in warned
    assert "org 'amer' are at stage 'Negotiation', which its `stages:` map does not name" in warned

    # An incremental day: one deleted, one moved to another account, a rate changed.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sf_amer.opportunity SET isdeleted = true, systemmodstamp = now() "
                "WHERE sfid = '006Am0000000000004'"
            )
        )
        new_account = _accounts(conn, "sf_amer")[2]
        conn.execute(
            text(
                "UPDATE sf_amer.opportunity SET accountid = :a, systemmodstamp = now() "
                "WHERE sfid = '006Am0000000000003'"
            ),
            {"a": new_account},
        )
        conn.execute(
            text("UPDATE sf_apac.currencytype SET conversionrate = 0.0065 WHERE isocode = 'EUR'")
        )
    APAC_STATIC["EUR"] = Decimal("0.0065")
    try:
        run_all(config)
    finally:
        APAC_STATIC["EUR"] = Decimal("0.0062")
    after = _published(engine)
    assert ("amer", "006Am0000000000004") not in after
    moved = after[("amer", "006Am0000000000003")]
    assert (
        moved["golden_account_id"]
        == moved["account_xref"]
        != published[("amer", "006Am0000000000003")]["golden_account_id"]
    )
    assert after[("apac", "006Ap0000000000001")]["amount_reporting"] == pytest.approx(6500)
    with engine.connect() as conn:
        xref = conn.execute(
            text("SELECT count(*) FROM golden.xref WHERE object = 'opportunity'")
        ).scalar_one()
    assert xref == len(facts) - 1
    _assert_reports_add_up(engine)
    engine.dispose()

    # Salesforce Connect sees them: a valid $metadata, the set, and each account's.
    with running_server(database_url, public_metadata=True) as server:
        checked = subprocess.run(
            [sys.executable, str(CHECKER), server.root + "$metadata"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stderr
        auth = (USER, PASSWORD)
        amer = httpx.get(
            server.root + "Opportunities",
            params={"$filter": "Org eq 'amer'", "$orderby": "Sfid"},
            auth=auth,
        ).json()["value"]
        assert [o["Sfid"] for o in amer] == [
            "006Am0000000000001",
            "006Am0000000000002",
            "006Am0000000000003",
            "006Am0000000000005",
        ]
        assert amer[0]["AmountReporting"] == pytest.approx(920)
        assert amer[0]["ReportingCurrency"] == REPORTING
        account = amer[0]["GoldenAccountId"]
        of_account = httpx.get(
            server.root + f"Accounts('{account}')/Opportunities", auth=auth
        ).json()["value"]
        assert {o["Sfid"] for o in of_account} >= {"006Am0000000000001", "006Am0000000000002"}
        assert all(o["GoldenAccountId"] == account for o in of_account)
        summary = httpx.get(server.root + f"Accounts('{account}')/AccountSummary", auth=auth)
        assert summary.status_code == 200, summary.text
        open_deals = [o for o in of_account if not o["IsClosed"]]
        assert summary.json()["OpenOpportunities"] == len(open_deals)
        assert summary.json()["OpenPipeline"] == pytest.approx(
            sum(o["AmountReporting"] or 0 for o in open_deals)
        )
        months = httpx.get(
            server.root + f"Accounts('{account}')/PipelineByMonth", auth=auth
        ).json()["value"]
        assert sum(m["Opportunities"] for m in months) == len(of_account)
        assert {m["CloseMonth"] for m in months} == {"2026-06-01", "2026-08-01"}


def test_a_bad_rates_file_loads_nothing_and_says_where(database_url, tmp_path):
    seed_demo(database_url, companies=5)
    config = write_config(tmp_path / "org360.yaml", database_url)
    settings = load_settings(config)
    engine = make_engine(database_url)
    from warehouse.tables import migrate

    migrate(engine)
    path = tmp_path / "rates.csv"
    path.write_text("org,isocode,conversionrate\nemea,GBP,1\nemea,EURO,1.17\n")
    with pytest.raises(RatesError, match=r"line 3: isocode 'EURO' is not an ISO 4217 code"):
        load_rates_file(engine, path, settings)
    path.write_text("org,isocode,conversionrate\nnowhere,GBP,1\n")
    with pytest.raises(RatesError, match=r"line 2: org 'nowhere' is not configured"):
        load_rates_file(engine, path, settings)
    path.write_text("org,isocode,rate\nemea,GBP,1\n")
    with pytest.raises(RatesError, match="missing conversionrate; unknown rate"):
        load_rates_file(engine, path, settings)
    path.write_text("org,isocode,conversionrate\nemea,GBP,-2\n")
    with pytest.raises(RatesError, match="must be a positive number"):
        load_rates_file(engine, path, settings)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM org360.currency_rate")).scalar_one() == 0
    engine.dispose()


def _assert_reports_add_up(engine) -> None:
    """The published summaries equal a plain aggregation of golden.opportunity and
    golden.lead."""
    this_year = datetime.datetime.now(datetime.UTC).year
    with engine.connect() as conn:
        published = {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                text(
                    "SELECT golden_id, open_pipeline, won_this_year, won_last_year, "
                    "lost_this_year, open_opportunities, orgs, open_leads "
                    "FROM golden.account_summary"
                )
            )
        }
        rows = conn.execute(
            text(
                "SELECT golden_account_id, org, is_closed, is_won, close_date, "
                "amount_reporting, funnel_stage FROM golden.opportunity"
            )
        ).all()
        open_leads = conn.execute(
            text(
                "SELECT golden_account_id, org FROM golden.lead "
                "WHERE golden_account_id IS NOT NULL AND NOT is_converted"
            )
        ).all()
        months = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                text(
                    "SELECT row_key, amount_reporting, opportunities FROM golden.pipeline_by_month"
                )
            )
        }
    expected: dict[str, list] = {}
    for account, org, closed, won, close, amount, _ in rows:
        e = expected.setdefault(account, [None, None, None, None, 0, set(), 0])
        counted = (
            not closed,
            won and close.year == this_year,
            won and close.year == this_year - 1,
            closed and not won and close.year == this_year,
        )
        for i, counts in enumerate(counted):
            if counts and amount is not None:
                e[i] = (e[i] or 0) + amount
        e[4] += not closed
        e[5].add(org)
    for account, org in open_leads:
        e = expected.setdefault(account, [None, None, None, None, 0, set(), 0])
        e[5].add(org)
        e[6] += 1
    assert len(expected) >= 3 and set(published) == set(expected)
    for account, e in expected.items():
        got = published[account]
        assert got[:4] == tuple(pytest.approx(v) if v is not None else None for v in e[:4])
        assert got[4] == e[4] and got[5] == ",".join(sorted(e[5])) and got[6] == e[6]
    by_month: dict[str, list] = {}
    for account, org, _, _, close, amount, funnel in rows:
        key = f"{account}/{org}/{funnel or '-'}/{close:%Y-%m}"
        m = by_month.setdefault(key, [None, 0])
        m[0] = m[0] if amount is None else (m[0] or 0) + amount
        m[1] += 1
    assert set(months) == set(by_month)
    for key, (amount, count) in by_month.items():
        assert months[key] == (pytest.approx(amount) if amount is not None else None, count)


def test_deals_entered_in_two_orgs_go_to_the_stewards_and_stay_apart(database_url, tmp_path):
    seed_demo(database_url, companies=120)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    engine = make_engine(database_url)
    quality = evaluate_deals(engine)
    assert quality.expected >= 5
    assert quality.precision >= 0.9 and quality.recall >= 0.9, quality.line()
    with engine.connect() as conn:
        review = conn.execute(
            text(
                "SELECT org_a, sfid_a, org_b, sfid_b, field_weights FROM golden.duplicate_review "
                "WHERE object = 'opportunity' ORDER BY review_id LIMIT 1"
            )
        ).one()
        merged = conn.execute(
            text("SELECT count(*) FROM golden.opportunity WHERE member_count <> 1")
        ).scalar_one()
    assert merged == 0  # never merged
    assert set(review.field_weights) == {"name", "close_date", "amount"}
    a, b = (review.org_a, review.sfid_a), (review.org_b, review.sfid_b)
    with pytest.raises(DecisionError, match="opportunities are never merged"):
        record_decision(engine, Decision("opportunity", *a, *b, decision="match", decided_by="s"))
    record_decision(engine, Decision("opportunity", *a, *b, decision="no_match", decided_by="s"))
    # Meanwhile another queued deal is renamed out of its pair, and a deal is entered
    # again in a second org: an incremental run looks again only where that reaches.
    with engine.begin() as conn:
        renamed = conn.execute(
            text(
                "SELECT org_a, sfid_a, org_b, sfid_b FROM golden.duplicate_review "
                "WHERE object = 'opportunity' AND sfid_a NOT IN (:sa, :sb) "
                "AND sfid_b NOT IN (:sa, :sb) ORDER BY review_id LIMIT 1"
            ),
            {"sa": a[1], "sb": b[1]},
        ).one()
        conn.execute(
            text(
                f"UPDATE sf_{renamed.org_a}.opportunity SET name = 'Quite another matter', "
                "systemmodstamp = now() WHERE sfid = :sfid"
            ),
            {"sfid": renamed.sfid_a},
        )
        copied = _deal_entered_again_in_emea(conn)
    run_all(config)
    assert _queued(engine, a, b) == 0  # a decided pair is not asked about again
    assert _queued(engine, (renamed.org_a, renamed.sfid_a), (renamed.org_b, renamed.sfid_b)) == 0
    assert _queued(engine, *copied) == 1
    with engine.connect() as conn:
        incremental = conn.execute(
            text("SELECT incremental FROM org360.publication ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert incremental
    assert _queue_of_deals(engine) == _deals_found_afresh(engine)

    # A decision taken back: the pair is asked about again.
    undo_decision(engine, "opportunity", a, b, by="s")
    run_all(config)
    assert _queued(engine, a, b) == 1
    assert _queue_of_deals(engine) == _deals_found_afresh(engine)
    engine.dispose()


def _deal_entered_again_in_emea(conn) -> tuple[tuple[str, str], tuple[str, str]]:
    """An amer deal entered again in emea, at the emea account of its golden account."""
    deal = conn.execute(
        text(
            "SELECT o.sfid, xa.sfid AS account FROM golden.opportunity o "
            "JOIN golden.xref xa ON xa.object = 'account' "
            "AND xa.golden_id = o.golden_account_id AND xa.org = 'emea' "
            "WHERE o.org = 'amer' AND o.amount IS NOT NULL AND o.close_date IS NOT NULL "
            "ORDER BY o.sfid LIMIT 1"
        )
    ).one()
    again = "006EM0000AGAIN0001"
    conn.execute(
        text(
            "INSERT INTO sf_emea.opportunity (sfid, name, accountid, stagename, isclosed, iswon, "
            "closedate, amount, currencyisocode, systemmodstamp, isdeleted) "
            "SELECT :again, o.name, :account, (SELECT min(stagename) FROM sf_emea.opportunity), "
            "o.isclosed, o.iswon, o.closedate, o.amount, o.currencyisocode, now(), false "
            "FROM sf_amer.opportunity o WHERE o.sfid = :sfid"
        ),
        {"again": again, "account": deal.account, "sfid": deal.sfid},
    )
    return ("amer", deal.sfid), ("emea", again)


def _queued(engine, a: tuple[str, str], b: tuple[str, str]) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM golden.duplicate_review WHERE object = 'opportunity' "
                "AND ((org_a, sfid_a, org_b, sfid_b) = (:oa, :sa, :ob, :sb) "
                "OR (org_a, sfid_a, org_b, sfid_b) = (:ob, :sb, :oa, :sa))"
            ),
            {"oa": a[0], "sa": a[1], "ob": b[0], "sb": b[1]},
        ).scalar_one()


_DEAL_PAIRS = (
    "SELECT review_id, golden_id_a, golden_id_b, label_a, label_b, match_weight "
    "FROM {schema}.duplicate_review WHERE object = 'opportunity'"
)


def _queue_of_deals(engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(text(_DEAL_PAIRS.format(schema="golden"))).all())


def _deals_found_afresh(engine) -> set[tuple]:
    """What the opportunities' review rule finds now looking at every golden deal
    (in a transaction taken back)."""
    with engine.connect() as conn, conn.begin() as transaction:
        conn.exec_driver_sql("CREATE TEMP TABLE review_rule_scope (golden_id varchar(18))")
        conn.execute(text("DELETE FROM golden_next.duplicate_review WHERE object = 'opportunity'"))
        conn.execute(
            text(query("opportunity_review")),
            {"review_weight": RULE_REVIEW_WEIGHT, "everything": True},
        )
        found = set(conn.execute(text(_DEAL_PAIRS.format(schema="golden_next"))).all())
        transaction.rollback()
    return found
