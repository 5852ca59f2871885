"""A user's mistake gets a clear error naming what is wrong, and changes nothing."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import text

from app.cli import main
from assets.partitions import org_partitions
from assets.resources import Org360Resource
from demo.heroku_connect import create_connect_table
from pipelines.definitions import build_definitions
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config


@pytest.fixture
def published(database_url, engine, tmp_path):
    """A database with demo orgs and one good publication."""
    seed_demo(database_url, companies=25)
    config = write_config(tmp_path / "good.yaml", database_url)
    run_all(config)
    return config


def _snapshot(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("golden.account", "golden.contact", "golden.xref", "staging.account")
        }


def _run(config, capsys) -> tuple[int, str]:
    code = main(["run", "--config", str(config)])
    return code, capsys.readouterr().err


def test_missing_schema_names_org_and_schema(published, database_url, engine, tmp_path, capsys):
    before = _snapshot(engine)
    config = write_config(
        tmp_path / "bad.yaml",
        database_url,
        [{"key": "amer", "schema": "sf_amer"}, {"key": "latam", "schema": "sf_latam"}],
    )
    code, err = _run(config, capsys)
    assert code == 2
    assert "org 'latam'" in err and "schema 'sf_latam' does not exist" in err
    assert "Traceback" not in err
    assert _snapshot(engine) == before


def test_missing_sfid_column(published, database_url, engine, tmp_path, capsys):
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA sf_broken")
        conn.exec_driver_sql("CREATE TABLE sf_broken.account (id serial, name varchar(255))")
    before = _snapshot(engine)
    config = write_config(
        tmp_path / "bad.yaml",
        database_url,
        [{"key": "amer", "schema": "sf_amer"}, {"key": "broken", "schema": "sf_broken"}],
    )
    code, err = _run(config, capsys)
    assert code == 2
    assert "org 'broken'" in err and "sf_broken.account" in err and "'sfid'" in err
    assert _snapshot(engine) == before


def test_mapped_column_that_does_not_exist(published, database_url, engine, tmp_path, capsys):
    before = _snapshot(engine)
    orgs = [
        {
            "key": "amer",
            "schema": "sf_amer",
            "fields": {"contact": {"national_id": "national_id__c"}},
        }
    ]
    code, err = _run(write_config(tmp_path / "bad.yaml", database_url, orgs), capsys)
    assert code == 2
    for part in ("org 'amer'", "'national_id__c'", "sf_amer.contact", "contact.national_id"):
        assert part in err
    assert _snapshot(engine) == before


def test_malformed_yaml_and_bad_org_keys(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("orgs:\n  - key: amer\n    schema: [sf_amer\n", encoding="utf-8")
    code, err = _run(broken, capsys)
    assert code == 2 and "not valid YAML" in err and "line" in err

    cases = {
        "orgs:\n  - key: Amer\n    schema: sf_amer\n": "key 'Amer' must match [a-z][a-z0-9_]*",
        "orgs:\n  - {key: amer, schema: a}\n  - {key: amer, schema: b}\n": (
            "duplicate org key 'amer'"
        ),
        "orgs:\n  - {key: amer, schema: a, fields: {account: {colour: x}}}\n": (
            "unknown unified field 'colour'"
        ),
        "orgs: []\n": "'orgs' must be a non-empty list",
    }
    for body, expected in cases.items():
        path = tmp_path / "case.yaml"
        path.write_text(body, encoding="utf-8")
        code, err = _run(path, capsys)
        assert code == 2, body
        assert expected in err, (body, err)

    code, err = _run(tmp_path / "absent.yaml", capsys)
    assert code == 2 and "not found" in err


def test_missing_table_counts_as_empty(database_url, engine, tmp_path):
    seed_demo(database_url, companies=15)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA sf_new")
        create_connect_table(conn, "sf_new", "account")
    orgs = [{"key": "amer", "schema": "sf_amer"}, {"key": "newco", "schema": "sf_new"}]
    run_all(write_config(tmp_path / "org360.yaml", database_url, orgs))
    with engine.connect() as conn:
        orgs_seen = conn.execute(text("SELECT DISTINCT org FROM golden.xref")).scalars().all()
    assert orgs_seen == ["amer"]


def test_unknown_org_partition_fails_with_the_org_named(database_url, tmp_path):
    seed_demo(database_url, companies=10)
    config = write_config(tmp_path / "org360.yaml", database_url)
    defs = build_definitions(Org360Resource(config_path=str(config), database_url=database_url))
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(org_partitions.name, ["ghost"])
    result = defs.resolve_job_def("staging_job").execute_in_process(
        partition_key="ghost", instance=instance, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    assert "unknown org 'ghost'" in error.message
