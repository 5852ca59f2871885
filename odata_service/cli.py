"""`org360 odata serve`: run the OData service with uvicorn.

Configuration errors (no credentials, no database, missing tables) end the command
with one line that says what to do, not a traceback.
"""

from __future__ import annotations

import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8360
ACCESS_LOG_VAR = "ORG360_ODATA_ACCESS_LOG"


def serve(host: str | None, port: int | None, database_url: str | None) -> None:
    """Serve until interrupted. Port: `port`, else `$PORT`, else 8360."""
    # Imported here so that `org360 --help` stays fast and reads no environment.
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from odata_service.app import create_app
    from odata_service.model import SchemaMismatch
    from odata_service.settings import ODataSettings
    from pipelines.database import resolve_database_url
    from pipelines.settings import ConfigError
    from service_auth import AuthConfigError

    try:
        port = port if port is not None else _port_from_env()
        settings = ODataSettings.from_env(resolve_database_url(database_url))
        settings.credentials.validate()
        app = create_app(settings)
    except (AuthConfigError, ConfigError, SchemaMismatch, ValueError) as exc:
        raise SystemExit(f"org360 odata serve: {exc}") from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise SystemExit(f"org360 odata serve: cannot reach the database: {reason}") from None
    uvicorn.run(
        app,
        host=host or DEFAULT_HOST,
        port=port,
        proxy_headers=True,
        access_log=os.environ.get(ACCESS_LOG_VAR, "1") not in ("0", "false", "no"),
        log_level="info",
    )


def _port_from_env() -> int:
    value = os.environ.get("PORT")
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"$PORT must be a TCP port number, got {value!r}")
    return int(value)
