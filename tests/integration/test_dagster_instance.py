"""Where Dagster keeps org360's run history: PostgreSQL, unless the user chose otherwise."""

from __future__ import annotations

import os
import uuid

import dagster as dg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from core.errors import ConfigError
from pipelines import instance
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config


def test_runs_are_stored_in_schema_dagster_of_the_org360_database(database_url, engine, tmp_path):
    seed_demo(database_url, companies=5)
    summary = run_all(write_config(tmp_path / "org360.yaml", database_url))
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT run_id FROM dagster.runs").scalars().all()
    assert sorted(stored) == sorted(summary.run_ids) and len(stored) == 4
    assert dg.DagsterInstance.get().get_run_by_id(summary.run_ids[-1]).is_success
    written = (tmp_path / "dagster_home" / "dagster.yaml").read_text()
    assert "env: ORG360_DAGSTER_STORAGE_URL" in written and "postgresql" not in written


def test_a_dagster_yaml_org360_did_not_write_is_left_alone(database_url, engine, tmp_path):
    own = "telemetry:\n  enabled: false\n# the team's own choice: SQLite here\n"
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(own)
    seed_demo(database_url, companies=5)
    run_all(write_config(tmp_path / "org360.yaml", database_url))
    assert (tmp_path / "dagster_home" / "dagster.yaml").read_text() == own
    assert (tmp_path / "dagster_home" / "history" / "runs.db").exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM dagster.runs").scalar() == 0


def test_the_file_earlier_versions_wrote_is_upgraded(tmp_path):
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    home = instance.dagster_home()
    assert instance.uses_org360_storage(home)


def test_storage_url_keeps_connection_options_and_can_point_elsewhere(monkeypatch):
    url = "postgres://u:secret@db.example.com:5432/crm?sslmode=require&options=-cstatement_timeout%3D0"
    parsed = make_url(instance.storage_url(url))
    assert parsed.drivername == "postgresql+psycopg2" and parsed.password == "secret"
    assert parsed.query["sslmode"] == "require"
    assert parsed.query["options"] == "-cstatement_timeout=0 -csearch_path=dagster"

    monkeypatch.setenv(instance.DATABASE_URL_ENV, "postgresql://u@ops.example.com/dagster")
    parsed = make_url(instance.storage_url(url))
    assert (parsed.host, parsed.database) == ("ops.example.com", "dagster")
    assert parsed.query["options"] == "-csearch_path=dagster"


@pytest.fixture
def role_without_create(engine, database_url):
    role = f"org360_reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql("DROP SCHEMA dagster CASCADE")
    yield make_url(database_url).set(username=role, password=None)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP ROLE "{role}"')
    admin.dispose()


def test_a_database_where_schema_dagster_cannot_be_created_is_named(role_without_create):
    url = role_without_create.render_as_string(hide_password=False)
    before = os.environ.get(instance.STORAGE_URL_ENV)
    with pytest.raises(ConfigError) as raised:
        instance.prepare_storage(url)
    message = str(raised.value)
    assert "schema 'dagster'" in message and role_without_create.database in message
    assert instance.DATABASE_URL_ENV in message and "dagster.yaml" in message
    assert "permission denied" in message
    assert os.environ.get(instance.STORAGE_URL_ENV) == before  # nothing pointed at it


def test_a_schema_made_for_a_role_without_create_on_the_database_is_used(
    role_without_create, engine
):
    role = role_without_create.username
    with engine.begin() as conn:  # what a DBA does: the schema, and rights on it only
        conn.exec_driver_sql(f'CREATE SCHEMA dagster AUTHORIZATION "{role}"')
    url = role_without_create.render_as_string(hide_password=False)
    assert make_url(instance.create_schema(url)).username == role
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA dagster CASCADE")  # the role can be dropped
