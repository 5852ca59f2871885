"""The Starlette app: routes for the Salesforce resources, and the gate every
/services/data request passes (request log, injected faults, Bearer session, API
allowance, the `Sforce-Limit-Info` header)."""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from salesforce_standin import admin, auth, bulk, rest
from salesforce_standin.context import ServerContext
from salesforce_standin.responses import not_found, sf_error

_DATA_PATH = re.compile(r"^/services/data/v\d+\.\d+(?:/.*)?$")
_D = "/services/data/v{version}"


class _DropDeliberateCuts(logging.Filter):
    """uvicorn logs an error for an exception after the response started; a cut made on
    purpose (faults.cut_results) is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, bulk.ConnectionCut)


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropDeliberateCuts) for f in logger.filters):
        logger.addFilter(_DropDeliberateCuts())


class _Gate:
    """Pure ASGI middleware in front of the router."""

    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith("/__standin__/"):
            self.ctx.log(scope["method"], path, scope.get("query_string", b"").decode("latin-1"))
        if len(path) > 1 and path.endswith("/"):
            # simple-salesforce asks for `limits/`, `query/?q=` and `deleted/?start=`:
            # route them without a redirect (which would cost a second API request).
            scope = {**scope, "path": path.rstrip("/")}
            path = scope["path"]
        if not path.startswith("/services/data/v"):
            await self.app(scope, receive, send)
            return
        if not _DATA_PATH.match(path):
            await not_found()(scope, receive, send)
            return
        org = self.ctx.org
        failure = org.faults.take_failure(path)
        if failure == "unavailable":
            await sf_error(
                503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry"
            )(scope, receive, send)
            return
        if failure == "request_limit":
            await _request_limit()(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        session = self.ctx.auth.check(authorization)
        if session is not None and org.faults.tick_session():
            session = None
        if session is None:
            await sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")(
                scope, receive, send
            )
            return
        if org.api_requests[1] <= 0:
            await _request_limit()(scope, receive, send)
            return
        scope = {**scope, "standin.session": session}

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Spent once the answer is ready, so /limits reports the allowance as it
                # stood when asked (set it to N and the first /limits says N).
                org.spend_api_request()
                most, left = org.api_requests
                usage = f"api-usage={most - left}/{most}".encode()
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"sforce-limit-info", usage)],
                }
            await send(message)

        await self.app(scope, receive, send_with_usage)


def _request_limit() -> Response:
    return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


async def _not_found(request: Request, exc: Any) -> Response:
    return not_found()


async def _not_allowed(request: Request, exc: Any) -> Response:
    return sf_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")


def build_app(ctx: ServerContext) -> ASGIApp:
    """The ASGI app for one server context."""
    _install_log_filter()
    routes = [
        Route("/services/Soap/u/{version}", auth.soap_login, methods=["POST"]),
        Route("/services/oauth2/token", auth.oauth_token, methods=["POST"]),
        Route("/id/{org}/{user}", auth.identity),
        Route("/services/data", rest.versions),
        Route(_D + "/limits", rest.limits),
        Route(_D + "/sobjects", rest.describe_global),
        Route(_D + "/sobjects/{object}/describe", rest.describe),
        Route(_D + "/sobjects/{object}/deleted", rest.deleted),
        Route(_D + "/sobjects/{object}/{record_id}", rest.get_record),
        Route(_D + "/sobjects/{object}", rest.sobject_info),
        Route(_D + "/query", rest.query),
        Route(_D + "/queryAll", rest.query),
        Route(_D + "/query/{locator}", rest.query_more),
        Route(_D + "/queryAll/{locator}", rest.query_more),
        Route(_D + "/jobs/query", bulk.create_query_job, methods=["POST"]),
        Route(_D + "/jobs/query", bulk.list_jobs, methods=["GET"]),
        Route(_D + "/jobs/query/{job_id}", bulk.query_job, methods=["GET", "PATCH", "DELETE"]),
        Route(_D + "/jobs/query/{job_id}/results", bulk.query_results),
        Route(_D + "/jobs/ingest", bulk.create_ingest_job, methods=["POST"]),
        Route(_D + "/jobs/ingest", bulk.list_jobs, methods=["GET"]),
        Route(_D + "/jobs/ingest/{job_id}", bulk.ingest_job, methods=["GET", "PATCH", "DELETE"]),
        Route(_D + "/jobs/ingest/{job_id}/batches", bulk.upload_batch, methods=["PUT"]),
        Route(_D + "/jobs/ingest/{job_id}/{kind}", bulk.ingest_results),
        *admin.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.ctx = ctx
    return _Gate(app, ctx)
