"""`GET /healthz`: is this process able to serve? For load balancers, uptime checks and
the platform's health checks, so it needs no credentials and says nothing secret:
the process answers, the database answers within two seconds, and its schema has
every migration this code expects (a release phase that did not run shows here).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from warehouse_sql import pending

TIMEOUT_MS = 2000


def check(engine: Engine) -> tuple[int, dict[str, object]]:
    """(HTTP status, body) of a health check."""
    try:
        with engine.connect() as conn:
            conn.execute(text(f"SET statement_timeout = {TIMEOUT_MS}"))
            waiting = pending(conn)
            conn.rollback()
    except SQLAlchemyError:
        # Which host or user failed stays in the server's log, not in a public answer.
        return 503, {"status": "unavailable", "database": "unreachable"}
    if waiting:
        return 503, {
            "status": "unavailable",
            "database": "ok",
            "migrations": f"{len(waiting)} pending: run `org360 db migrate`",
        }
    return 200, {"status": "ok", "database": "ok", "migrations": "current"}


def health_app(engine: Engine) -> Callable:
    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method") not in ("GET", "HEAD"):
            status, body = 405, {"status": "method not allowed: use GET"}
        else:
            status, body = await anyio.to_thread.run_sync(check, engine)
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": payload if scope["method"] == "GET" else b""}
        )

    return app
