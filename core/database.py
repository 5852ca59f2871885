"""Where org360's database is, and engines to reach it.

Order: the config's `database_url`, else `$DATABASE_URL`, else the embedded server.
URLs are normalised here, in one place: Heroku hands out `postgres://`, and with
SQLAlchemy 2.1 a bare `postgresql://` would pick psycopg 3, so both become
`postgresql+psycopg2://`.
"""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.errors import ConfigError


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"database URL {redact(url)!r} is not a URL; expected postgresql+psycopg2://..."
        ) from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database URL {redact(url)!r}: org360 needs PostgreSQL")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def resolve_database_url(configured: str | None = None, *, start_embedded: bool = True) -> str:
    """The URL org360 should use; starts the embedded server when nothing else is configured."""
    url = configured or os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    if not start_embedded:
        raise ConfigError("no database configured: set database_url or DATABASE_URL")
    from core import embedded_postgres

    return embedded_postgres.start()


def make_engine(url: str, **kwargs) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("future", True)
    return create_engine(normalise_url(url), **kwargs)
