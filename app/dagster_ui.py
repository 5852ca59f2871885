"""The Dagster UI under `/dagster/` of org360's web process, behind org360's sign-in.

Dagster's open-source webserver has no authentication of its own: whoever reaches it
can launch, cancel and wipe runs. So it is never served bare. It is mounted in the
web process (one port, as a platform router gives one), and every request to it, web
socket handshakes included, must come from a person signed in to the web app with
the `admin` role (its session cookie), or carry the API's credentials (HTTP Basic,
which a browser asks for and then sends with each request, or a bearer token).
Anonymous access, which the API may allow, is never extended to it.

The webserver loads org360's code location in a code server process of its own;
that process stops when the web process does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from http.cookies import CookieError, SimpleCookie
from pathlib import Path

import anyio

from service_auth import ApiCredentials

# The web app's session cookie (steward_app.sessions.COOKIE).
SESSION_COOKIE = "org360_session"

log = logging.getLogger("org360.web")

PREFIX = "/dagster"
# `off` leaves the Dagster UI out of the web process (and its code server's memory).
SWITCH_VAR = "ORG360_DAGSTER_UI"


def enabled() -> bool:
    return os.environ.get(SWITCH_VAR, "on").strip().lower() not in {"off", "0", "false", "no"}


@contextlib.contextmanager
def dagster_ui(
    config_path: Path,
    credentials: ApiCredentials,
    admin_session: Callable[[str], bool] | None = None,
) -> Iterator[Callable]:
    """The Dagster webserver as an ASGI app under PREFIX, guarded; its code server runs
    until the block ends."""
    import dagster as dg
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster_webserver.app import create_app_from_workspace_process_context
    from dagster_webserver.version import __version__

    from pipelines.instance import process_environment

    env = process_environment(config_path)
    # The code server the webserver starts inherits this process's environment.
    for name in ("ORG360_CONFIG", "DATABASE_URL", "DAGSTER_HOME"):
        if name in env:
            os.environ[name] = env[name]
    instance = dg.DagsterInstance.get()
    instance.optimize_for_webserver(statement_timeout=15000, pool_recycle=3600, max_overflow=2)
    target = ModuleTarget(
        module_name="pipelines.definitions",
        attribute=None,
        working_directory=None,
        location_name="org360",
    )
    with (
        instance,
        WorkspaceProcessContext(
            instance, version=__version__, read_only=False, workspace_load_target=target
        ) as context,
    ):
        app = create_app_from_workspace_process_context(context, PREFIX)
        yield RequireSignIn(app, credentials, admin_session)
    log.info("Dagster UI stopped")


class RequireSignIn:
    """ASGI guard: HTTP requests without valid credentials get 401 (which makes a
    browser ask for them); web socket handshakes without them are refused."""

    def __init__(
        self,
        app: Callable,
        credentials: ApiCredentials,
        admin_session: Callable[[str], bool] | None = None,
    ) -> None:
        """`admin_session(token)`: whether a web app session cookie's token belongs to
        a signed-in admin."""
        self.app = app
        self.admin_session = admin_session
        self.credentials = dataclasses.replace(credentials, allow_anonymous=False)
        self.usable = bool(
            (self.credentials.user and self.credentials.password) or self.credentials.tokens
        )

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        authorization = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"),
            None,
        )
        if (self.usable and self.credentials.accepts(authorization)) or await self._admin(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            # Closing before accepting answers the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
        elif scope["type"] == "http":
            await _refuse(send, self.usable)

    async def _admin(self, scope: dict) -> bool:
        if self.admin_session is None:
            return False
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                with contextlib.suppress(CookieError):
                    cookies.load(value.decode("latin-1"))
        token = cookies.get(SESSION_COOKIE)
        if token is None:
            return False
        return await anyio.to_thread.run_sync(self.admin_session, token.value)


async def _refuse(send: Callable, usable: bool) -> None:
    body = b"The Dagster UI needs an admin signed in at /app/" + (
        b", or the API's credentials.\n" if usable else b".\n"
    )
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if usable:  # the browser asks for the API's credentials
        headers.append((b"www-authenticate", b'Basic realm="org360", charset="UTF-8"'))
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
