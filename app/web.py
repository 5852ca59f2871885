"""One web process for every HTTP service, as a Heroku `web` dyno needs (one port):

- `/healthz`: the health check (no credentials);
- `/app/`: the web app for data stewards and everyone looking up a customer
  (`steward_app`, people signed in with their own accounts);
- `/dagster/`: the Dagster UI, behind sign-in (`app.dagster_ui`);
- `/odata/`: the OData service for Salesforce Connect;
- everything else: the archive API.

Each service keeps its own app, routes, error format and authentication; this
dispatches by path, gives every request an id (the caller's `X-Request-ID` when it is
a sane one, else a new one), echoes it in the response and logs one line per
request with it. SIGTERM and SIGINT stop the server the way platforms expect: no new
connections, requests in flight completed (up to `SHUTDOWN_SECONDS`), the Dagster
code server stopped, exit.
"""

from __future__ import annotations

import logging
import re
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import Engine

from core import logs
from core.processes import stop_children

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]

log = logging.getLogger("org360.web")

# Seconds requests in flight have to complete after SIGTERM (platforms kill at 30).
SHUTDOWN_SECONDS = 20
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def dispatch(
    odata: ASGIApp,
    archive: ASGIApp,
    health: ASGIApp | None = None,
    dagster: ASGIApp | None = None,
    people: ASGIApp | None = None,
) -> ASGIApp:
    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if health is not None and path == "/healthz":
            target = health
        elif people is not None and _under(path, "/app"):
            target = people
        elif _under(path, "/dagster"):
            target = dagster or _no_dagster
        elif _under(path, "/odata"):
            target = odata
        else:
            target = archive
        await target(scope, receive, send)

    return app


async def _no_dagster(scope: dict, receive: Callable, send: Callable) -> None:
    if scope["type"] != "http":
        return
    body = b"The Dagster UI is switched off in this process (ORG360_DAGSTER_UI=off).\n"
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def with_request_ids(app: ASGIApp) -> ASGIApp:
    """Each request's id in the logs and the `X-Request-ID` response header; one log
    line per HTTP request (method, path, status, milliseconds)."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"),
            "",
        )
        request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex
        token = logs.request_id.set(request_id)
        started = time.perf_counter()
        status = [0]

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                elapsed = round((time.perf_counter() - started) * 1000, 1)
                log.info(
                    "%s %s %d %.1f ms",
                    scope.get("method"),
                    scope.get("path"),
                    status[0],
                    elapsed,
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status[0],
                        "duration_ms": elapsed,
                    },
                )
            logs.request_id.reset(token)

    return wrapped


def _mounted(prefix: str, app: ASGIApp) -> ASGIApp:
    """`app` answering under `prefix` (its `root_path`, which Starlette's routing
    takes off the path: `/app/review` is its route `/review`)."""

    async def mounted(scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if path == prefix and scope["type"] == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", (prefix + "/").encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await app({**scope, "root_path": prefix}, receive, send)

    return mounted


def _is_admin(engine: Engine, token: str) -> bool:
    from steward_app.sessions import find_session

    session = find_session(engine, token)
    return session is not None and session.user.may("admin")


def _stopped_by(signum: int, _frame: object) -> None:
    log.info("%s: shut down", signal.Signals(signum).name)


def serve(host: str | None, port: int | None, config_path: str | None) -> None:
    """Serve every service until SIGTERM or SIGINT, where `core.listen.listen_address`
    says."""
    import contextlib

    import uvicorn

    from app import dagster_ui
    from app.health import health_app
    from archive_service.api import create_app as archive_app
    from archive_service.cli import require_schema
    from archive_service.config import Runtime
    from core.listen import listen_address
    from odata_service.app import create_app as odata_app
    from odata_service.settings import ODataSettings
    from service_auth import ApiCredentials
    from steward_app.app import AppConfig
    from steward_app.app import create_app as people_app

    logs.configure()
    runtime = Runtime.load(config_path)
    try:
        require_schema(runtime)
        credentials = ApiCredentials.from_env()
        credentials.validate()
        host, port = listen_address(host, port)
        with contextlib.ExitStack() as stack:
            dagster = None
            if dagster_ui.enabled():
                dagster = stack.enter_context(
                    dagster_ui.dagster_ui(
                        Path(config_path or "org360.yaml").resolve(),
                        credentials,
                        admin_session=lambda token: _is_admin(runtime.engine, token),
                    )
                )
            app = dispatch(
                odata_app(ODataSettings.from_env(runtime.database_url)),
                archive_app(runtime, credentials),
                health=health_app(runtime.engine),
                dagster=dagster,
                people=_mounted(
                    "/app", people_app(AppConfig.from_env(runtime.engine, runtime.settings))
                ),
            )
            log.info(
                "serving on http://%s:%d (/app, /odata, /api/v1, /dagster, /healthz)", host, port
            )
            # Uvicorn raises the stop signal again once it has shut down, for the
            # handler it found; this one returns, so what follows (stopping the
            # Dagster code server) runs before the process exits.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, _stopped_by)
            # The apps' own lifespans only release resources at exit, which the process
            # does. Uvicorn's log setup is left out: org360's lines carry request ids.
            uvicorn.run(
                with_request_ids(app),
                host=host,
                port=port,
                lifespan="off",
                log_config=None,
                access_log=False,
                timeout_graceful_shutdown=SHUTDOWN_SECONDS,
            )
            log.info("requests completed; stopping")
    finally:
        runtime.close()
        stop_children()
