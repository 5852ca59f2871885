"""The stored procedures, driven by JobRunner in-process: what moves where, what Heroku
Connect gets to sync (its trigger log), and per-record outcomes."""

from __future__ import annotations

from sqlalchemy import text

from archive_service.jobs import JobService
from archive_service.models import JobRequest
from archive_service.runner import JobRunner
from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import scalar


def submit(service: JobService, kind: str, org: str, obj: str, **selector) -> str:
    return service.submit(kind, JobRequest(org=org, object=obj, **selector)).job_id


def run(service: JobService, job_id: str) -> dict:
    JobRunner(service.runtime).run(job_id)
    return service.status(job_id).model_dump()


def outcomes(engine, job_id: str) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT sfid, outcome FROM archive.job_record WHERE job_id = :j"), {"j": job_id}
        )
        return dict(rows.all())


def test_archive_moves_rows_and_connect_logs_exactly_their_deletes(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 250)
    # Connect synced those from Salesforce: nothing for it to send back yet.
    with engine.connect() as conn:
        assert connect_sim.trigger_log(conn, "amer_sf", "contact") == []

    chosen = sfids[:120]
    job_id = submit(service, "archive", "amer", "contact", sfids=chosen)
    status = run(service, job_id)

    assert status["status"] == "succeeded"
    assert status["counts"]["archived"] == 120 and status["processed"] == 120
    assert scalar(engine, "SELECT count(*) FROM amer_sf.contact") == 130
    assert scalar(engine, "SELECT count(*) FROM archive.amer_contact") == 120
    with engine.connect() as conn:
        log = connect_sim.trigger_log(conn, "amer_sf", "contact")
        archived = conn.execute(
            text(
                "SELECT sfid, lastname, archive_org, archive_job_id, archived_at IS NOT NULL, "
                "restored_at FROM archive.amer_contact ORDER BY sfid"
            )
        ).all()
    assert sorted((e.action, e.state, e.sfid) for e in log) == [
        ("DELETE", "NEW", s) for s in sorted(chosen)
    ]
    assert all(e.old["sfid"] == e.sfid for e in log)
    assert archived[0] == (
        archived[0].sfid,
        f"Record {archived[0].sfid}",
        "amer",
        job_id,
        True,
        None,
    )
    assert {row.sfid for row in archived} == set(chosen)
    # All the live table's columns are kept, plus the archive's own.
    live_cols = set(_columns(engine, "amer_sf", "contact"))
    assert live_cols < set(_columns(engine, "archive", "amer_contact"))


def test_every_record_gets_an_outcome_and_reruns_change_nothing(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "account", 10)
        # An app changed this one; Connect has not sent the change yet.
        conn.execute(
            text("UPDATE amer_sf.account SET phone = '+44 20' WHERE sfid = :s"), {"s": sfids[1]}
        )
        conn.execute(
            text("UPDATE amer_sf.account SET isdeleted = true WHERE sfid = :s"), {"s": sfids[2]}
        )
    first = submit(service, "archive", "amer", "account", sfids=[sfids[0]])
    assert run(service, first)["status"] == "succeeded"
    missing = connect_sim.fake_sfid("account", 999_999)
    job_id = submit(
        service,
        "archive",
        "amer",
        "account",
        sfids=[sfids[0], sfids[1], sfids[2], sfids[3], missing],
    )
    log_before = _log_size(engine, "amer_sf")
    status = run(service, job_id)

    assert status["status"] == "partial"
    assert outcomes(engine, job_id) == {
        sfids[0]: "already_archived",
        sfids[1]: "pending_in_connect",
        sfids[2]: "not_found",
        sfids[3]: "archived",
        missing: "not_found",
    }
    counts = {k: v for k, v in status["counts"].items() if v}
    assert counts == {"already_archived": 1, "pending_in_connect": 1, "not_found": 2, "archived": 1}
    assert _log_size(engine, "amer_sf") == log_before + 1

    # The same job again (a worker crashed after its last batch): nothing moves twice.
    assert run(service, job_id)["counts"] == status["counts"]
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE archive.job SET status = 'running' WHERE job_id = :j"), {"j": job_id}
        )
    assert run(service, job_id)["counts"] == status["counts"]
    assert _log_size(engine, "amer_sf") == log_before + 1
    assert scalar(engine, "SELECT count(*) FROM archive.amer_account") == 2
    assert scalar(engine, "SELECT count(*) FROM amer_sf.account") == 8


def test_a_batch_that_fails_leaves_everything_in_place(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "emea_sf", "contact", 30, org_tag="1")
    job_id = submit(service, "archive", "emea", "contact", sfids=sfids)
    with engine.begin() as conn:
        conn.execute(text("SELECT archive.ensure_table_v1('emea', 'contact', 'emea_sf', '{}')"))
    with engine.connect() as conn:
        conn.execute(text("SELECT archive.archive_next_batch_v1(:j, 10, false)"), {"j": job_id})
        assert conn.execute(text("SELECT count(*) FROM archive.emea_contact")).scalar() == 10
        conn.rollback()  # the worker died before COMMIT
    assert scalar(engine, "SELECT count(*) FROM archive.emea_contact") == 0
    assert scalar(engine, "SELECT count(*) FROM emea_sf.contact") == 30
    assert scalar(engine, "SELECT count(*) FROM emea_sf._trigger_log") == 0
    assert run(service, job_id)["counts"]["archived"] == 30


def test_unarchive_inserts_without_sfid_and_records_the_new_one_once_connect_writes_it(
    runtime, service, options
):
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 20)
    assert run(service, submit(service, "archive", "amer", "contact", sfids=sfids))["status"] == (
        "succeeded"
    )
    with engine.begin() as conn:
        connect_sim.process_log(conn, "amer_sf", "contact")  # Connect deletes them in SF
    restore = sfids[:5]
    job_id = submit(service, "unarchive", "amer", "contact", sfids=[*restore, sfids[0]])
    status = run(service, job_id)
    assert status["status"] == "succeeded" and status["counts"]["unarchived"] == 5

    with engine.connect() as conn:
        live = conn.execute(
            text(
                "SELECT sfid, lastname, _hc_lastop, org360_archive_id__c FROM amer_sf.contact "
                "ORDER BY lastname"
            )
        ).all()
        log = [e for e in connect_sim.trigger_log(conn, "amer_sf", "contact") if e.state == "NEW"]
        restored = dict(
            conn.execute(
                text(
                    "SELECT sfid, restore_external_id FROM archive.amer_contact "
                    "WHERE restored_at IS NOT NULL"
                )
            ).all()
        )
    assert [row.lastname for row in live] == [f"Record {s}" for s in sorted(restore)]
    assert all(row.sfid is None and row._hc_lastop == "PENDING" for row in live)
    assert set(restored) == set(restore)
    assert {row.org360_archive_id__c for row in live} == set(restored.values())
    # Exactly one INSERT per record for Connect: no sfid, the External ID to upsert on,
    # and none of the fields Salesforce sets itself.
    assert [e.action for e in log] == ["INSERT"] * 5
    assert all(e.values["sfid"] is None for e in log)
    assert {e.values[connect_sim.EXTERNAL_ID] for e in log} == set(restored.values())
    assert all(e.values["systemmodstamp"] is None and e.values["createddate"] is None for e in log)

    # Unarchiving again creates nothing: each record is reported, not re-inserted.
    again = run(service, submit(service, "unarchive", "amer", "contact", sfids=restore))
    assert again["counts"]["already_unarchived"] == 5 and again["status"] == "partial"
    assert scalar(engine, "SELECT count(*) FROM amer_sf.contact") == 5

    # Connect creates the records in Salesforce and writes the sfids back; org360 links them.
    with engine.begin() as conn:
        created = connect_sim.process_log(conn, "amer_sf", "contact")
    from archive_service.janitor import Janitor

    assert Janitor(runtime, service.queue).reconcile() == 5
    with engine.connect() as conn:
        links = dict(
            conn.execute(
                text(
                    "SELECT restore_external_id, restored_sfid FROM archive.amer_contact "
                    "WHERE restored_at IS NOT NULL"
                )
            ).all()
        )
    assert links == created
    page = service.records(job_id, "unarchived", None, 100)
    assert {r.sfid: r.restored_sfid for r in page.records} == {
        old: created[restored[old]] for old in restore
    }


def test_unarchive_without_external_id_field_fails_clearly_and_moves_nothing(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "emea_sf", "account", 3, org_tag="1")
    run(service, submit(service, "archive", "emea", "account", sfids=sfids))
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE emea_sf.account DROP COLUMN org360_archive_id__c")
    status = run(service, submit(service, "unarchive", "emea", "account", sfids=sfids))
    assert status["status"] == "failed"
    assert "org360_archive_id__c" in status["error"] and "External ID" in status["error"]
    assert scalar(engine, "SELECT count(*) FROM emea_sf.account") == 0
    assert (
        scalar(engine, "SELECT count(*) FROM archive.emea_account WHERE restored_at IS NULL") == 3
    )


def test_criteria_select_records_and_report_rows_without_sfid(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        old = connect_sim.sync_from_salesforce(conn, "amer_sf", "account", 6, modified="2019-05-01")
        connect_sim.sync_from_salesforce(
            conn, "amer_sf", "account", 4, start=6, modified="2099-01-01"
        )
        conn.execute(text("UPDATE amer_sf.account SET type = 'Prospect'"))
        conn.execute(
            text("UPDATE amer_sf.account SET type = 'Customer' WHERE sfid = :s"), {"s": old[0]}
        )
        connect_sim.process_log(conn, "amer_sf", "account")  # Connect syncs those
        # Inserted by an app, not yet created in Salesforce: no sfid to archive it by.
        conn.execute(
            text(
                "INSERT INTO amer_sf.account (name, type, systemmodstamp) "
                "VALUES ('New', 'Prospect', '2018-01-01')"
            )
        )
    job_id = submit(
        service,
        "archive",
        "amer",
        "account",
        criteria={"older_than_days": 365, "where": {"type": "Prospect", "annualrevenue": None}},
    )
    status = run(service, job_id)
    assert status["status"] == "succeeded"
    assert status["total"] == 5 and status["counts"]["archived"] == 5
    assert status["skipped_without_sfid"] == 1
    assert set(outcomes(engine, job_id)) == set(old[1:])

    # Unarchive what that job archived, by criteria on the archive table.
    back = submit(service, "unarchive", "amer", "account", criteria={"archive_job_id": job_id})
    assert run(service, back)["counts"]["unarchived"] == 5


def test_views_keep_their_published_columns_and_follow_org_field_mappings(runtime, service):
    engine = runtime.engine
    published = {v: _view_columns(engine, v) for v in ("account_all", "contact_all")}
    # An org whose contact e-mail lives in a custom field.
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE emea_sf.contact ADD COLUMN work_email__c varchar(80)")
        emea = connect_sim.sync_from_salesforce(conn, "emea_sf", "contact", 2, org_tag="1")
        conn.execute(text("SET LOCAL xmlbinary = 'hex'"))
        conn.execute(text("UPDATE emea_sf.contact SET work_email__c = 'a@b.example'"))
        amer = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 3)
        accounts = connect_sim.sync_from_salesforce(conn, "amer_sf", "account", 1)
    from dataclasses import replace

    from core.settings import OrgSettings

    orgs = tuple(
        replace(o, fields={"contact": {"email": "work_email__c"}}) if o.key == "emea" else o
        for o in runtime.settings.orgs
    )
    runtime.settings = replace(runtime.settings, orgs=orgs)
    assert all(isinstance(o, OrgSettings) for o in orgs)
    for org, obj, ids in (
        ("emea", "contact", emea),
        ("amer", "contact", amer),
        ("amer", "account", accounts),
    ):
        run(service, submit(service, "archive", org, obj, sfids=ids))

    assert {v: _view_columns(engine, v) for v in published} == published
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT archive_key, org, sfid, last_name, email, job_id FROM archive.contact_all")
        ).all()
        account_row = conn.execute(text("SELECT archive_key, name FROM archive.account_all")).one()
    assert len(rows) == 5
    assert {r.org for r in rows} == {"amer", "emea"}
    assert all(r.archive_key == f"{r.org}/{r.sfid}" for r in rows)
    assert {r.email for r in rows if r.org == "emea"} == {"a@b.example"}
    assert account_row.name == f"Record {accounts[0]}"


def test_archive_table_gains_columns_the_connect_mapping_gains(runtime, service):
    engine = runtime.engine
    with engine.begin() as conn:
        first = connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 2)
    run(service, submit(service, "archive", "amer", "contact", sfids=first[:1]))
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE amer_sf.contact ADD COLUMN loyalty__c varchar(20)")
        conn.execute(text("SET LOCAL xmlbinary = 'hex'"))
        conn.execute(text("UPDATE amer_sf.contact SET loyalty__c = 'gold'"))
    run(service, submit(service, "archive", "amer", "contact", sfids=first[1:]))
    assert (
        scalar(engine, "SELECT loyalty__c FROM archive.amer_contact WHERE sfid = :s", s=first[1])
        == "gold"
    )


def _columns(engine, schema: str, table: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
                ),
                {"s": schema, "t": table},
            ).scalars()
        )


def _view_columns(engine, view: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = CAST(:v AS regclass) AND attnum > 0 ORDER BY attnum"
            ),
            {"v": f"archive.{view}"},
        ).all()


def _log_size(engine, schema: str) -> int:
    return scalar(engine, f'SELECT count(*) FROM "{schema}"._trigger_log')
