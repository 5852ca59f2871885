"""Test fixtures: a real PostgreSQL, one template database cloned per test.

The server is `$DATABASE_URL`'s when set, else org360's embedded one. Tests
fail, never skip, when neither can be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from dagster_postgres import DagsterPostgresStorage
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.database import make_engine, resolve_database_url
from pipelines import instance
from warehouse.tables import migrate


def _admin_url() -> str:
    return resolve_database_url()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return _admin_url()


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> Iterator[str]:
    """A database with every migration applied, cloned by each test."""
    name = f"org360_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = _create_database(pg_admin_url, name)
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{instance.SCHEMA}"')
    engine.dispose()
    # Dagster's tables are created once here, and every test's clone has them.
    DagsterPostgresStorage(instance.storage_url(url))  # NullPool: no connection is kept
    yield name
    _drop_database(pg_admin_url, name)


@pytest.fixture
def database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A fresh, migrated database of its own for one test."""
    name = f"org360_t_{uuid.uuid4().hex[:12]}"
    url = _create_database(pg_admin_url, name, template=template_database)
    yield url
    _drop_database(pg_admin_url, name)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with nothing in it (for migration tests)."""
    name = f"org360_e_{uuid.uuid4().hex[:12]}"
    url = _create_database(pg_admin_url, name)
    yield url
    _drop_database(pg_admin_url, name)


@pytest.fixture
def engine(database_url: str):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
