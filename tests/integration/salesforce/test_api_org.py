"""An org read through the Salesforce API, served by org360's Salesforce stand-in over
HTTPS on 127.0.0.1 (the real REST and Bulk API 2.0 protocol, simple-salesforce as the
client): consolidated with two Heroku Connect orgs, incremental with soft and hard
deletions, every fault leaving the publication as it was and the next run completing,
and golden ids written back without waking the pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from core.database import make_engine
from core.settings import load_settings
from demo.api_org import ENV, ApiOrg, serve_through_api
from demo.seed import DEMO_ORGS, evaluate, write_demo_config
from pipelines.runner import RunFailed, run_all
from salesforce_api.connection import BACKOFF_VAR, connection_for, forget_connections
from salesforce_api.extract import extract_table
from salesforce_api.writeback import write_back
from salesforce_standin import FieldDef
from tests.helpers.orgs import seed_demo

EMEA = next(o for o in DEMO_ORGS if o["key"] == "emea")
GOLDEN_FIELD = "Org360_Golden_Id__c"


@pytest.fixture
def api_env(monkeypatch):
    """The variables the stand-in's demo org sets, restored afterwards."""
    for name in (*ENV.values(), "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(name, "unset")
    monkeypatch.setenv(BACKOFF_VAR, "0.01")
    yield
    forget_connections()


@pytest.fixture
def api_org(database_url, api_env, tmp_path):
    """The demo's three orgs, emea moved into the stand-in; yields (api, config path)."""
    seed_demo(database_url, companies=40)
    api = serve_through_api(make_engine(database_url), EMEA)
    try:
        yield api, _config(tmp_path, database_url, api)
    finally:
        api.stop()


def _config(tmp_path: Path, database_url: str, api: ApiOrg, **emea) -> Path:
    return write_demo_config(
        tmp_path / "org360.yaml",
        database_url,
        replaced={"emea": {**api.config, **emea}},
    )


def _partition(engine) -> set[frozenset]:
    """The published clusters: which source records share a golden record."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT golden_id, object, org, sfid FROM golden.xref")).all()
    clusters: dict[str, set] = {}
    for golden_id, obj, org, sfid in rows:
        clusters.setdefault(golden_id, set()).add((obj, org, sfid))
    return {frozenset(c) for c in clusters.values()}


def _published(engine) -> tuple:
    """A fingerprint of what readers see."""
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text(f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {t} t")
            ).one()
            for t in ("golden.xref", "golden.account", "golden.contact", "golden.opportunity")
        )


def _in_xref(engine, obj: str, sfid: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT 1 FROM golden.xref WHERE object = :o AND org = 'emea' AND sfid = :s"),
                {"o": obj, "s": sfid},
            ).scalar()
        )


def _live(api: ApiOrg, sobject: str) -> list[dict]:
    return api.org.rows(sobject)


def test_an_api_org_consolidates_as_it_does_through_connect(database_url, api_env, tmp_path):
    seed_demo(database_url, companies=40)
    engine = make_engine(database_url)
    connect_config = write_demo_config(tmp_path / "connect.yaml", database_url)
    run_all(connect_config)
    through_connect = _partition(engine)
    quality = evaluate(engine)

    api = serve_through_api(engine, EMEA)
    try:
        summary = run_all(_config(tmp_path, database_url, api), full=True)
    finally:
        api.stop()
    assert _partition(engine) == through_connect
    assert evaluate(engine) == quality
    assert any(k.startswith("staging[emea]") for k in summary.step_seconds)
    with engine.connect() as conn:
        # Read into org360's schema, laid out as Connect's, and staged from it.
        mirrored = conn.execute(text("SELECT count(*) FROM sf_emea_api.contact")).scalar_one()
        staged = conn.execute(
            text("SELECT count(*) FROM staging.contact WHERE org = 'emea'")
        ).scalar_one()
        schema_gone = conn.execute(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'sf_emea'")
        ).scalar_one()
    assert mirrored == api.org.count("Contact", include_deleted=True)
    assert staged == api.org.count("Contact") and schema_gone == 0


def test_incremental_runs_see_updates_soft_and_hard_deletions(api_org, database_url):
    api, config = api_org
    engine = make_engine(database_url)
    run_all(config)
    contacts = _live(api, "Contact")
    edited, purged, swept = contacts[0]["Id"], contacts[1]["Id"], contacts[2]["Id"]
    account = _live(api, "Account")[0]["Id"]
    api.org.update("Contact", edited, {"LastName": "Zyxwvutsrq"})
    api.org.delete("Account", [account])  # to the recycle bin: IsDeleted arrives
    api.org.purge("Contact", [purged])  # gone at once: only `deleted` says so
    (new,) = api.org.insert(
        "Contact", [{"FirstName": "Ada", "LastName": "Quillfeather", "Email": "ada@quill.test"}]
    )
    api.server.reset_log()
    run_all(config)

    with engine.connect() as conn:
        last_name = conn.execute(
            text("SELECT last_name FROM staging.contact WHERE org = 'emea' AND sfid = :s"),
            {"s": edited},
        ).scalar_one()
    assert last_name == "Zyxwvutsrq"
    assert not _in_xref(engine, "account", account)
    assert not _in_xref(engine, "contact", purged)
    assert _in_xref(engine, "contact", new)
    # Incremental: the deleted-records resource was asked, no id was read again.
    paths = [r[1] for r in api.server.requests]
    assert any("/sobjects/Contact/deleted" in p for p in paths)

    # Beyond Salesforce's window (it no longer lists the deletion), every id is read.
    api.org.deleted_retention = dt.timedelta(0)
    api.org.purge("Contact", [swept])
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE org360.salesforce_extract SET deletions_checked_until = "
                "deletions_checked_until - interval '40 days' WHERE org = 'emea' "
                "AND source_table = 'contact'"
            )
        )
    run_all(config)
    assert not _in_xref(engine, "contact", swept)
    with engine.connect() as conn:
        swept_at = conn.execute(
            text(
                "SELECT swept_at > now() - interval '1 hour' FROM org360.salesforce_extract "
                "WHERE org = 'emea' AND source_table = 'contact'"
            )
        ).scalar_one()
    assert swept_at

    # An object Salesforce lists no deletions of is swept at every run.
    api.org.table("Contact").obj.replicateable = False
    forget_connections()  # what the org's objects are is read once per connection
    unlisted = _live(api, "Contact")[0]["Id"]
    api.org.purge("Contact", [unlisted])
    run_all(config)
    assert not _in_xref(engine, "contact", unlisted)


def test_low_api_budget_stops_before_reading(api_org, database_url):
    api, config = api_org
    engine = make_engine(database_url)
    run_all(config)
    before = _published(engine)
    api.org.update("Contact", _live(api, "Contact")[0]["Id"], {"LastName": "Notread"})
    api.org.api_requests = (100_000, 5_000)
    with pytest.raises(RunFailed) as failed:
        run_all(config)
    message = str(failed.value)
    assert "org 'emea'" in message and "5,000 of 100,000 daily API requests left" in message
    assert _published(engine) == before
    api.org.api_requests = (100_000, 90_000)
    run_all(config)
    assert _published(engine) != before


def test_a_failed_bulk_job_changes_nothing_and_the_next_run_completes(api_org, database_url):
    api, config = api_org
    engine = make_engine(database_url)
    run_all(config)
    before = _published(engine)
    edited = _live(api, "Contact")[0]["Id"]
    api.org.update("Contact", edited, {"LastName": "Afterfailure"})
    api.org.faults.fail_query_job("Contact", "INVALID_OPERATION: the query timed out")
    with pytest.raises(RunFailed) as failed:
        run_all(config)
    assert "INVALID_OPERATION: the query timed out" in str(failed.value)
    assert "org 'emea'" in str(failed.value)
    assert _published(engine) == before
    run_all(config)
    assert _published(engine) != before


def test_expired_sessions_unavailability_and_limits_are_ridden_out(api_org, database_url):
    api, config = api_org
    engine = make_engine(database_url)
    run_all(config)
    org = load_settings(config).org("emea")
    logins = connection_for(org).logins
    api.org.update("Contact", _live(api, "Contact")[0]["Id"], {"LastName": "Ridden"})
    api.org.faults.expire_sessions_after(6)
    api.org.faults.fail_next(2, kind="unavailable")
    api.org.faults.fail_next(2, kind="request_limit", path_contains="/jobs/query")
    run_all(config)
    assert connection_for(org).logins == logins + 1
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM staging.contact WHERE last_name = 'Ridden'")
            ).scalar_one()
            == 1
        )


def test_a_cut_connection_is_retried_and_an_interrupted_extract_resumes(
    api_org, database_url, tmp_path
):
    api, _ = api_org
    config = _config(
        tmp_path, database_url, api, salesforce={**api.config["salesforce"], "page_size": 10}
    )
    engine = make_engine(database_url)
    run_all(config)
    assert api.org.count("Contact", include_deleted=True) > 30  # several pages

    # Dropped once while sending page 2: asked again, and the run completes.
    _forget_watermark(engine, "contact")
    api.org.faults.cut_results(page=2, times=1)
    run_all(config)
    assert _mirrored(engine) == api.org.count("Contact", include_deleted=True)

    # Dropped every time: the run fails with the pages before committed, nothing merged.
    _forget_watermark(engine, "contact")
    api.org.update("Contact", _live(api, "Contact")[0]["Id"], {"LastName": "Resumed"})
    before = _published(engine)
    api.org.faults.cut_results(page=2, times=1_000)
    with pytest.raises(RunFailed, match="org 'emea'"):
        run_all(config)
    assert _published(engine) == before
    with engine.connect() as conn:
        job_id, pages = conn.execute(
            text(
                "SELECT job_id, pages_loaded FROM org360.salesforce_extract "
                "WHERE org = 'emea' AND source_table = 'contact'"
            )
        ).one()
    assert job_id and pages == 1

    api.org.faults.clear()
    api.server.reset_log()
    run_all(config)
    results = [r for r in api.server.requests if r[1].endswith("/results")]
    contact_pages = [r for r in results if job_id in r[1]]
    # The same job, from its second page on: the first is not read again.
    assert contact_pages and all("locator" in (r[2] or "") for r in contact_pages)
    assert _mirrored(engine) == api.org.count("Contact", include_deleted=True)
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM staging.contact WHERE last_name = 'Resumed'")
            ).scalar_one()
            == 1
        )
    assert _published(engine) != before


def _forget_watermark(engine, table: str) -> None:
    """Make the next extract read every record (several pages)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE org360.salesforce_extract SET watermark = NULL, fields_hash = NULL "
                "WHERE org = 'emea' AND source_table = :t"
            ),
            {"t": table},
        )


def _mirrored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM sf_emea_api.contact")).scalar_one()


def _change_mark(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT max(change_seq), count(*) FROM staging.{t}")).one()
            for t in ("account", "contact")
        )


def test_golden_ids_are_written_back_once_and_wake_nothing(api_org, database_url, tmp_path):
    api, _ = api_org
    engine = make_engine(database_url)
    for sobject in ("Account", "Contact"):
        api.org.add_field(sobject, FieldDef(GOLDEN_FIELD, "string", length=18, external_id=True))
    with engine.begin() as conn:
        for table in ("account", "contact"):
            conn.exec_driver_sql(
                f"ALTER TABLE sf_amer.{table} ADD COLUMN org360_golden_id__c varchar(18)"
            )
    plain = _config(tmp_path, database_url, api)
    run_all(plain)

    # Configured now: a dry run says what would change and writes nothing.
    written = {**api.config, "writeback": {"field": GOLDEN_FIELD}}
    config = write_demo_config(
        tmp_path / "writeback.yaml",
        database_url,
        replaced={
            "emea": written,
            "amer": {**_demo_entry("amer"), "writeback": {"field": GOLDEN_FIELD}},
        },
    )
    settings = load_settings(config)
    emea, amer = settings.org("emea"), settings.org("amer")
    # Not read from the org yet: the next extract reads the field first.
    (skipped,) = [r for r in write_back(engine, emea, dry_run=True) if r.object == "account"]
    assert "not read from Salesforce yet" in skipped.skipped
    for table in ("account", "contact"):
        extract_table(engine, connection_for(emea), table)
    dry = {r.object: r for r in write_back(engine, emea, connection_for(emea), dry_run=True)}
    live_accounts = api.org.count("Account")
    assert dry["account"].changed == live_accounts and dry["account"].written == 0
    assert all(r.get(GOLDEN_FIELD) is None for r in _live(api, "Account"))
    assert dry["lead"].skipped  # Lead has no such field in this org

    refused = _live(api, "Account")[0]["Id"]
    api.org.faults.ingest_errors[refused] = "FIELD_CUSTOM_VALIDATION_EXCEPTION:Locked account:--"
    run_all(config)  # publishes, then writes back
    mark = _change_mark(engine)
    golden = _golden_ids(engine)
    accounts = {r["Id"]: r.get(GOLDEN_FIELD) for r in _live(api, "Account")}
    assert accounts[refused] is None
    assert all(
        value == golden[("account", "emea", sfid)]
        for sfid, value in accounts.items()
        if sfid != refused
    )
    with engine.connect() as conn:
        error = conn.execute(
            text("SELECT error, attempts FROM org360.writeback_error WHERE sfid = :s"),
            {"s": refused},
        ).one()
        amer_written = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE a.org360_golden_id__c = x.golden_id), count(*) "
                "FROM sf_amer.account a JOIN golden.xref x ON x.object = 'account' "
                "AND x.org = 'amer' AND x.sfid = a.sfid"
            )
        ).one()
    assert "Locked account" in error.error and error.attempts == 1
    assert amer_written[0] == amer_written[1] > 0

    # The org's records moved (SystemModstamp) but nothing org360 reads changed.
    run_all(config)
    assert _change_mark(engine) == mark
    reports = {r.object: r for r in write_back(engine, emea, connection_for(emea))}
    assert reports["account"].changed == 1 and reports["account"].failed == 1  # retried

    api.org.faults.ingest_errors.clear()
    reports = {r.object: r for r in write_back(engine, emea, connection_for(emea))}
    assert reports["account"].changed == 1 and reports["account"].written == 1
    assert reports["contact"].changed == 0
    assert api.org.get("Account", refused)[GOLDEN_FIELD] == golden[("account", "emea", refused)]
    with engine.connect() as conn:
        kept = dict(
            conn.execute(
                text("SELECT org, count(*) FROM org360.writeback_error GROUP BY org")
            ).all()
        )
        # Rows Connect reports it could not send to Salesforce are kept (and rewritten).
        failed_in_connect = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT sfid, _hc_lastop FROM sf_amer.account UNION ALL "
                "SELECT sfid, _hc_lastop FROM sf_amer.contact) t JOIN golden.xref x "
                "ON x.org = 'amer' AND x.sfid = t.sfid WHERE t._hc_lastop = 'FAILED'"
            )
        ).scalar_one()
    assert "emea" not in kept
    assert kept.get("amer", 0) == failed_in_connect
    again = [r for r in write_back(engine, amer) if not r.skipped]
    assert {r.object for r in again} == {"account", "contact"}
    assert all(r.changed == 0 for r in again)


def _demo_entry(key: str) -> dict:
    return dict(next(o for o in DEMO_ORGS if o["key"] == key))


def _golden_ids(engine) -> dict[tuple[str, str, str], str]:
    with engine.connect() as conn:
        return {
            (r.object, r.org, r.sfid): r.golden_id
            for r in conn.execute(text("SELECT object, org, sfid, golden_id FROM golden.xref"))
        }
