"""The retention schedule queues archive jobs from the config's policies; the volume
asset reports what each org has archived."""

from __future__ import annotations

import yaml
from dagster import Definitions, materialize
from sqlalchemy import text

from archive_service.runner import JobRunner
from assets.archive_assets import ArchiveResource, volume
from pipelines.archive_schedule import retention_job, retention_schedule
from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import ORGS


def write_config(tmp_path, url: str, retention: list[dict]) -> str:
    path = tmp_path / "org360.yaml"
    orgs = [{"key": k, "schema": s} for k, s in ORGS.items()]
    path.write_text(yaml.safe_dump({"database_url": url, "orgs": orgs, "retention": retention}))
    return str(path)


def test_retention_policies_become_archive_jobs_once(tmp_path, runtime, connect_db):
    with runtime.engine.begin() as conn:
        old = connect_sim.sync_from_salesforce(conn, "amer_sf", "account", 8, modified="2015-01-01")
        connect_sim.sync_from_salesforce(
            conn, "amer_sf", "account", 3, start=8, modified="2099-01-01"
        )
    config = write_config(
        tmp_path,
        connect_db,
        [
            {"org": "amer", "object": "account", "older_than_days": 365},
            {
                "org": "emea",
                "object": "contact",
                "older_than_days": 30,
                "where": {"title": "Intern"},
            },
        ],
    )
    resources = {"archive": ArchiveResource(config_path=config)}

    result = retention_job.execute_in_process(resources=resources)
    assert result.success
    job_ids = result.output_for_node("enqueue_retention_jobs")
    assert len(job_ids) == 2
    # Still queued: a second run does not submit them again.
    assert (
        retention_job.execute_in_process(resources=resources).output_for_node(
            "enqueue_retention_jobs"
        )
        == []
    )

    for job_id in job_ids:
        JobRunner(runtime).run(job_id)
    with runtime.engine.connect() as conn:
        jobs = dict(conn.execute(text("SELECT requested_by, counts FROM archive.job")).all())
    assert jobs["retention:amer.account"] == {"archived": len(old)}
    assert jobs["retention:emea.contact"] == {}


def test_a_policy_naming_a_missing_column_fails_the_run(tmp_path, connect_db):
    config = write_config(
        tmp_path,
        connect_db,
        [{"org": "amer", "object": "contact", "older_than_days": 10, "where": {"nope__c": 1}}],
    )
    result = retention_job.execute_in_process(
        resources={"archive": ArchiveResource(config_path=config)}, raise_on_error=False
    )
    assert not result.success


def test_volume_reports_counts_per_org_and_object(tmp_path, runtime, service, connect_db):
    from archive_service.models import JobRequest

    with runtime.engine.begin() as conn:
        sfids = connect_sim.sync_from_salesforce(conn, "emea_sf", "contact", 7, org_tag="1")
    job_id = service.submit("archive", JobRequest(org="emea", object="contact", sfids=sfids)).job_id
    JobRunner(runtime).run(job_id)
    back = service.submit("unarchive", JobRequest(org="emea", object="contact", sfids=sfids[:2]))
    JobRunner(runtime).run(back.job_id)

    config = write_config(tmp_path, connect_db, [])
    result = materialize([volume], resources={"archive": ArchiveResource(config_path=config)})
    assert result.success
    metadata = result.asset_materializations_for_node("archive__volume")[0].metadata
    assert metadata["emea.contact.archived"].value == 5
    assert metadata["emea.contact.restoring"].value == 2
    assert metadata["amer.account.archived"].value == 0
    assert metadata["archived"].value == 5
    assert "| emea | contact | 5 | 2 | 0 |" in metadata["per_org_object"].value


def test_definitions_load_with_the_asset_schedule_and_resource(tmp_path, connect_db):
    defs = Definitions(
        assets=[volume],
        jobs=[retention_job],
        schedules=[retention_schedule],
        resources={"archive": ArchiveResource(config_path=write_config(tmp_path, connect_db, []))},
    )
    repository = defs.get_repository_def()
    assert repository.get_schedule_def("retention_schedule").cron_schedule == "30 2 * * *"
    assert repository.get_job("retention_job") is not None
