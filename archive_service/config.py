"""What the archive service needs at run time, read once by the CLI (never at import).

`ArchiveOptions` are tuning knobs with production defaults, overridable from the
environment (`ORG360_ARCHIVE_*`); `Runtime` bundles them with the org360 settings and
a database engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from core.database import make_engine, resolve_database_url
from core.errors import ConfigError
from core.settings import Settings, load_settings

ENV_PREFIX = "ORG360_ARCHIVE_"

# Salesforce fields that Salesforce sets itself: writing them back on unarchive would
# make Heroku Connect's insert fail. Connect's own columns are always left out too.
READ_ONLY_COLUMNS: tuple[str, ...] = (
    "systemmodstamp",
    "createddate",
    "createdbyid",
    "lastmodifieddate",
    "lastmodifiedbyid",
    "lastactivitydate",
    "lastvieweddate",
    "lastreferenceddate",
    "isdeleted",
    "masterrecordid",
    "photourl",
    "jigsawcompanyid",
    "mayedit",
    "islocked",
    "iscustomerportal",
)


@dataclass(frozen=True)
class ArchiveOptions:
    """Tuning knobs; each can be set as ORG360_ARCHIVE_<NAME upper-cased>."""

    # Records moved per transaction: large enough to amortise each round trip,
    # small enough that a crash repeats little work and locks stay short.
    batch_size: int = 5000
    # The org's Salesforce External ID field (lower-case, as Connect names columns)
    # that unarchive fills with a fresh UUID so Connect upserts instead of inserting.
    external_id_field: str = "org360_archive_id__c"
    read_only_columns: tuple[str, ...] = READ_ONLY_COLUMNS
    # Worker liveness: procrastinate heartbeats; a worker silent for stalled_after
    # seconds is presumed dead and its jobs are retried by another worker.
    heartbeat_seconds: float = 10.0
    stalled_after_seconds: float = 30.0
    janitor_interval_seconds: float = 5.0
    # Workers wake on NOTIFY; this fallback poll bounds the wait when procrastinate's
    # worker misses one (it can, if a job is queued while it is fetching).
    fetch_poll_seconds: float = 0.5
    reconcile_interval_seconds: float = 60.0
    # How long a running job keeps retrying while the database is unreachable.
    database_retry_seconds: float = 120.0
    job_max_attempts: int = 10
    callback_timeout_seconds: float = 10.0
    callback_max_attempts: int = 8
    # Exponential back-off base: waits of base, base², base³… seconds between tries.
    callback_retry_base_seconds: int = 2
    # After SIGTERM, how long a worker lets its running jobs go on before it asks
    # them to stop between two batches (and leaves the rest to another worker):
    # within the 30 seconds platforms give before they kill.
    shutdown_grace_seconds: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ArchiveOptions:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for option in fields(cls):
            name = ENV_PREFIX + option.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            default = getattr(cls, option.name)
            values[option.name] = _parse(name, raw, default)
        return cls(**values)


def _parse(name: str, raw: str, default: object) -> object:
    if isinstance(default, tuple):
        return tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    if isinstance(default, str):
        # Column names, as Heroku Connect writes them: lower case.
        return raw.strip().lower()
    number_type = int if isinstance(default, int) else float
    try:
        value = number_type(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a {number_type.__name__}") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive")
    return value


def psycopg_conninfo(sqlalchemy_url: str) -> str:
    """The libpq connection string for a SQLAlchemy URL (procrastinate's worker uses psycopg 3)."""
    url = make_url(sqlalchemy_url)
    params: dict[str, object] = {
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
        "host": url.host,
        "port": url.port,
    }
    # The embedded server's socket folder and options such as sslmode travel as query
    # parameters; libpq takes them as keywords of the same name.
    for key, value in url.query.items():
        params[key] = value[-1] if isinstance(value, tuple) else value
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    engine: Engine
    options: ArchiveOptions = field(default_factory=ArchiveOptions)

    @classmethod
    def load(cls, config_path: str | Path | None, environ: Mapping[str, str] | None = None):
        settings = load_settings(config_path)
        url = resolve_database_url(settings.database_url)
        options = ArchiveOptions.from_env(environ)
        return cls.create(settings, url, options)

    @classmethod
    def create(cls, settings: Settings, database_url: str, options: ArchiveOptions) -> Runtime:
        # A worker runs `concurrency` jobs plus the janitor; the API runs a thread pool.
        engine = make_engine(database_url, pool_size=10, max_overflow=20)
        return cls(settings=settings, database_url=database_url, engine=engine, options=options)

    @property
    def conninfo(self) -> str:
        return psycopg_conninfo(self.database_url)

    def close(self) -> None:
        self.engine.dispose()
