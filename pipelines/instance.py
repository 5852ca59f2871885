"""The Dagster instance org360's runs go to: `$DAGSTER_HOME` (default `.org360/dagster`).

org360 writes that folder's `dagster.yaml` so that run history, event logs and
schedules live in PostgreSQL, in schema `dagster` of org360's own database (or of
`$ORG360_DAGSTER_DATABASE_URL`), beside the data they describe. Dagster's default,
SQLite files, opens a new database connection and commits to disk for each of the
~200 events a run writes, and cannot be shared by the webserver, the daemon and runs
on other machines. The URL reaches Dagster through `$ORG360_DAGSTER_STORAGE_URL`,
which `org360 run` and `org360 ui` set, so no password is ever written to the file.

A `dagster.yaml` org360 did not write is left alone: whoever wrote it chose the storage.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.database import normalise_url, redact
from core.embedded_postgres import home_dir
from core.errors import ConfigError

SCHEMA = "dagster"
STORAGE_URL_ENV = "ORG360_DAGSTER_STORAGE_URL"
DATABASE_URL_ENV = "ORG360_DAGSTER_DATABASE_URL"

_MARK = "# Written by org360"
_INSTANCE_YAML = f"""{_MARK}: Dagster keeps run history, event logs and schedules in
# PostgreSQL, schema "{SCHEMA}" of org360's database (or of ${DATABASE_URL_ENV}).
# `org360 run` and `org360 ui` set ${STORAGE_URL_ENV}; the password stays out of this file.
# Replace this file (without the first line) to keep Dagster's storage elsewhere.
telemetry:
  enabled: false
storage:
  postgres:
    postgres_url:
      env: {STORAGE_URL_ENV}
# `org360 daemon` launches queued runs one at a time (each run's steps run side by
# side in it), so a small dyno runs them all; raise it on a larger machine.
run_queue:
  max_concurrent_runs: 1
# A run whose process died (its dyno restarted) is marked failed rather than left
# "started" for ever; the next schedule tick runs again.
run_monitoring:
  enabled: true
  poll_interval_seconds: 60
# A run stopped with its process (the daemon's dyno restarted) is run once more; one
# that failed in a step is not: that needs a look first.
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""
# What earlier versions of org360 wrote (SQLite in this folder); replaced on sight, as
# is an earlier version of the file above.
_EARLIER_DEFAULT = "telemetry:\n  enabled: false\n"


def dagster_home() -> Path:
    """The instance folder, with org360's `dagster.yaml` unless someone wrote their own."""
    home = Path(os.environ.get("DAGSTER_HOME") or home_dir() / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    written = instance_yaml.read_text(encoding="utf-8") if instance_yaml.exists() else None
    if (
        written is None
        or written == _EARLIER_DEFAULT
        or (written.startswith(_MARK) and written != _INSTANCE_YAML)
    ):
        instance_yaml.write_text(_INSTANCE_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def uses_org360_storage(home: Path) -> bool:
    return (home / "dagster.yaml").read_text(encoding="utf-8").startswith(_MARK)


def storage_url(database_url: str) -> str:
    """Where Dagster's tables go: schema `dagster` of `$ORG360_DAGSTER_DATABASE_URL`,
    else of org360's database."""
    url = make_url(normalise_url(os.environ.get(DATABASE_URL_ENV) or database_url))
    options = url.query.get("options")
    options = " ".join(options) if isinstance(options, tuple) else options
    search_path = f"-csearch_path={SCHEMA}"
    return url.update_query_dict(
        {"options": f"{options} {search_path}" if options else search_path}
    ).render_as_string(hide_password=False)


def prepare_storage(database_url: str) -> Path:
    """Point the instance at its storage, creating schema `dagster` if needed. Returns
    `$DAGSTER_HOME`; the environment is set for this process and those it starts."""
    home = dagster_home()
    if not uses_org360_storage(home):
        return home
    os.environ[STORAGE_URL_ENV] = create_schema(database_url, home)
    return home


def create_schema(database_url: str, home: Path | None = None) -> str:
    """Schema `dagster` where Dagster's storage goes, created if needed; its URL."""
    url = storage_url(database_url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # Looked up first: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the
            # database, which a role given a schema made for it may not have.
            exists = conn.exec_driver_sql(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %(schema)s)",
                {"schema": SCHEMA},
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE SCHEMA "{SCHEMA}"')
    except SQLAlchemyError as error:
        own = home / "dagster.yaml" if home else "$DAGSTER_HOME/dagster.yaml"
        raise ConfigError(
            f"Dagster's run history goes to schema {SCHEMA!r} of {redact(url)}, which could "
            f"not be created: {getattr(error, 'orig', error)}. Grant CREATE on that database, "
            f"set ${DATABASE_URL_ENV} to another one, or write your own {own}"
        ) from None
    finally:
        engine.dispose()
    return url


def open_instance(database_url: str) -> dg.DagsterInstance:
    """The instance for a command-line run, holding its storage connections open."""
    prepare_storage(database_url)
    instance = dg.DagsterInstance.get()
    # Dagster's Postgres storage connects anew for every event unless told it is a
    # long-lived process; a run writes ~200 events, so keep one connection per storage.
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)
    return instance


def process_environment(config_path: Path) -> dict[str, str]:
    """The environment of a Dagster process org360 starts (`dagster dev`, the daemon,
    the webserver's code server): this one's, plus the config, the database (resolved
    once, starting the embedded server if that is what it is, so every process shares
    it) and the instance with its storage."""
    from core.database import resolve_database_url
    from core.settings import load_settings

    env = dict(os.environ)
    configured = None
    if config_path.exists():
        configured = load_settings(config_path).database_url
        env["ORG360_CONFIG"] = str(config_path)
    env["DATABASE_URL"] = resolve_database_url(configured)
    env["DAGSTER_HOME"] = str(prepare_storage(env["DATABASE_URL"]))
    if STORAGE_URL_ENV in os.environ:  # set by prepare_storage unless dagster.yaml is yours
        env[STORAGE_URL_ENV] = os.environ[STORAGE_URL_ENV]
    return env
