"""Entry points wired into the `org360` CLI: `org360 archive serve` and `org360 archive worker`.

Both read the config (`--config`, else $ORG360_CONFIG, else ./org360.yaml) and the
`ORG360_ARCHIVE_*` tuning variables here, never at import time.
"""

from __future__ import annotations

from sqlalchemy import text

from archive_service.config import Runtime
from core import logs
from core.errors import ConfigError
from core.listen import listen_address


def serve(host: str | None, port: int | None, config_path: str | None) -> None:
    """Run the archive API until interrupted, where `core.listen.listen_address` says."""
    import uvicorn

    from archive_service.api import create_app
    from service_auth import ApiCredentials

    _configure_logging()
    runtime = Runtime.load(config_path)
    try:
        require_schema(runtime)
        app = create_app(runtime, ApiCredentials.from_env())
        host, port = listen_address(host, port)
        uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=20)
    finally:
        runtime.close()


def worker(config_path: str | None, concurrency: int = 1) -> None:
    """Run one archive worker until SIGINT/SIGTERM; several may run at once."""
    from archive_service.worker import run_worker

    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    _configure_logging()
    runtime = Runtime.load(config_path)
    try:
        require_schema(runtime)
        run_worker(runtime, concurrency)
    finally:
        runtime.close()


def require_schema(runtime: Runtime) -> None:
    """Stop with a clear error when the archive's tables are not migrated yet."""
    with runtime.engine.connect() as conn:
        found = conn.execute(
            text("SELECT to_regclass('archive.job'), to_regclass('procrastinate_jobs')")
        ).one()
    if None in found:
        raise ConfigError(
            "the archive tables are missing from the database: run `org360 db migrate` first"
        )


def _configure_logging() -> None:
    # One line per event on standard output (text, or JSON with $ORG360_LOG_FORMAT).
    logs.configure()
