"""The code location loads, and assets materialise through Dagster itself."""

import dagster as dg
import pytest
from sqlalchemy import text

from assets import staging
from assets.resources import Org360Resource
from core.errors import ConfigError
from pipelines.definitions import defs
from pipelines.runner import run_all
from tests.helpers.code_location import consolidation_job
from tests.helpers.orgs import seed_demo, write_config
from warehouse.resolution_state import request_full_resolution


def test_definitions_load_without_config_or_database(monkeypatch, tmp_path):
    monkeypatch.setenv("ORG360_CONFIG", str(tmp_path / "absent.yaml"))
    definitions = defs()
    keys = {k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert {"staging/account", "unified/contact", "resolve/contact_cluster", "golden/xref"} <= keys
    assert definitions.resolve_job_def("staging_job").partitions_def is not None
    assert definitions.resolve_schedule_def("consolidation_schedule").cron_schedule == "0 * * * *"


def test_schedule_cron_comes_from_the_config(monkeypatch, tmp_path):
    config = tmp_path / "org360.yaml"
    config.write_text("schedule: '*/15 * * * *'\norgs:\n  - {key: a, schema: sf_a}\n")
    monkeypatch.setenv("ORG360_CONFIG", str(config))
    assert defs().resolve_schedule_def("consolidation_schedule").cron_schedule == "*/15 * * * *"


def test_materialize_one_org_partition(database_url, engine, tmp_path):
    seed_demo(database_url, companies=10)
    config = write_config(tmp_path / "org360.yaml", database_url)
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions("org", ["emea"])
    result = dg.materialize(
        staging.staging_assets,
        partition_key="emea",
        instance=instance,
        resources={"org360": Org360Resource(config_path=str(config), database_url=database_url)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("staging__account")[0].metadata
    assert metadata["live_records"].value > 0
    with engine.connect() as conn:
        orgs = conn.execute(text("SELECT DISTINCT org FROM staging.account")).scalars().all()
    assert orgs == ["emea"]


def test_definitions_load_with_a_cluster_executor(monkeypatch, tmp_path):
    from dagster_k8s import k8s_job_executor

    monkeypatch.setenv("ORG360_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("ORG360_EXECUTOR", "k8s")
    job = defs().resolve_job_def("consolidation_job")
    assert job.executor_def is k8s_job_executor

    monkeypatch.setenv("ORG360_EXECUTOR", "multiprocess")
    assert defs().resolve_job_def("consolidation_job").executor_def.name == "multiprocess"
    # Staging is a few statements per object: always one process per run.
    assert defs().resolve_job_def("staging_job").executor_def.name == "in_process"

    monkeypatch.setenv("ORG360_EXECUTOR", "spark")
    with pytest.raises(ConfigError, match="expected one of in_process, multiprocess"):
        defs()


def test_consolidation_runs_on_the_multiprocess_executor(
    database_url, engine, tmp_path, monkeypatch
):
    """Each step, comparison shards included, in a process of its own; the same result
    as `org360 run`'s single comparison step."""
    seed_demo(database_url, companies=25)
    config = write_config(tmp_path / "org360.yaml", database_url)
    summary = run_all(config)  # stages every org (and publishes once, in-process)
    # In one process, one comparison step per object: its forked workers share the pieces.
    ran = dg.DagsterInstance.get().get_run_step_stats(summary.run_ids[-1])
    compared = {s.step_key for s in ran if "compare_contacts[" in s.step_key}
    assert compared == {"resolve_contacts.compare_contacts[0]"}
    with engine.connect() as conn:
        before = conn.execute(text(XREF)).all()
    request_full_resolution(engine)  # every comparison shard runs

    monkeypatch.setenv("ORG360_CONFIG", str(config))
    monkeypatch.setenv("ORG360_EXECUTOR", "multiprocess")
    monkeypatch.setenv("ORG360_MAX_CONCURRENT", "2")
    result = dg.execute_job(
        dg.reconstructable(consolidation_job), instance=dg.DagsterInstance.get()
    )
    assert result.success
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert {f"resolve_contacts.compare_contacts[{s}]" for s in range(4)} <= steps
    pids = {e.pid for e in result.all_events if e.is_step_start}
    assert len(pids) > 1  # steps ran in processes of their own
    with engine.connect() as conn:
        assert conn.execute(text(XREF)).all() == before


XREF = "SELECT object, org, sfid, golden_id FROM golden.xref ORDER BY object, org, sfid"
