"""`org360 odata serve`: run the OData service with uvicorn.

Configuration errors (no credentials, no database, missing tables) end the command
with one line that says what to do, not a traceback.

With more than one worker, uvicorn starts that many processes, each building its own
app with `app_from_env` (an app cannot be handed to another process); the database
URL resolved here reaches them through the environment.
"""

from __future__ import annotations

import os

ACCESS_LOG_VAR = "ORG360_ODATA_ACCESS_LOG"
WORKERS_VAR = "WEB_CONCURRENCY"


def serve(
    host: str | None, port: int | None, database_url: str | None, workers: int | None = None
) -> None:
    """Serve until interrupted, where `core.listen.listen_address` says.

    Processes: `workers`, else `$WEB_CONCURRENCY` (Heroku sets it per dyno size), else one
    per CPU.
    """
    # Imported here so that `org360 --help` stays fast and reads no environment.
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from core.database import resolve_database_url
    from core.errors import ConfigError
    from core.listen import listen_address
    from odata_service.app import (
        DATABASE_URL_VAR,
        create_app,
        freeze_startup_objects,
        service_engine,
    )
    from odata_service.model import SchemaMismatch
    from odata_service.settings import ODataSettings
    from service_auth import AuthConfigError

    try:
        host, port = listen_address(host, port)
        workers = workers if workers is not None else _workers_from_env()
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        settings = ODataSettings.from_env(resolve_database_url(database_url))
        settings.credentials.validate()
        # Built here even with several workers: a bad configuration or a missing table
        # stops the command with one line instead of failing in every worker.
        engine = service_engine(settings)
        app = create_app(settings, engine)
    except (AuthConfigError, ConfigError, SchemaMismatch, ValueError) as exc:
        raise SystemExit(f"org360 odata serve: {exc}") from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise SystemExit(f"org360 odata serve: cannot reach the database: {reason}") from None
    options = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "access_log": os.environ.get(ACCESS_LOG_VAR, "1") not in ("0", "false", "no"),
        "log_level": "info",
        "http": "odata_service.wire:CoalescingHttpProtocol",
    }
    if workers == 1:
        freeze_startup_objects()
        uvicorn.run(app, **options)
        return
    engine.dispose()
    os.environ[DATABASE_URL_VAR] = settings.database_url
    uvicorn.run("odata_service.app:app_from_env", factory=True, workers=workers, **options)


def _workers_from_env() -> int:
    value = os.environ.get(WORKERS_VAR)
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or not 0 < int(value) <= 64:
        raise ValueError(f"${WORKERS_VAR} must be a number of processes (1-64), got {value!r}")
    return int(value)
