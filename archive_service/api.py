"""The HTTP API Salesforce calls: `create_app(runtime, credentials)` builds it.

Routes are thin: validate the body (pydantic), hand it to `JobService`, answer at once.
Every error is JSON `{"error": {"code", "message", "details"}}` with a 4xx that says
what to fix; authentication (Basic or bearer, as a Named Credential sends it) is the
shared `service_auth.RequireAuth`, on unless anonymous access is explicitly enabled.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive_service.config import Runtime
from archive_service.errors import RequestError
from archive_service.jobs import JobService
from archive_service.models import (
    ErrorResponse,
    JobAccepted,
    JobRequest,
    JobStatus,
    Outcome,
    RecordPage,
)
from archive_service.queue import Queue
from service_auth import ApiCredentials, RequireAuth

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
OPEN_PATHS = frozenset({"/health", "/openapi.json"})
# 100,000 ids take about 2.2 MB of JSON; Apex callouts send at most 6 MB (12 MB async).
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_RECORDS_PAGE = 5000

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 404, 413, 422, 503)
}


def create_app(
    runtime: Runtime, credentials: ApiCredentials, queue: Queue | None = None
) -> FastAPI:
    credentials.validate()
    service = JobService(runtime, queue or Queue(runtime))
    app = FastAPI(
        title="org360 archive API",
        version="1.0.0",
        description=(
            "Archive Salesforce records out of their org (into org360's Postgres) and "
            "restore them. Jobs run asynchronously: POST answers 202 with a job id; "
            "poll GET /api/v1/jobs/{job_id} or pass a callback_url."
        ),
        redoc_url=None,
    )
    app.state.service = service

    _add_routes(app)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    app.add_middleware(LimitBody, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(
        RequireAuth,
        credentials=credentials,
        unauthorised_body=_unauthorised_body,
        open_paths=OPEN_PATHS,
    )
    return app


def get_service(request: Request) -> JobService:
    return request.app.state.service


Service = Annotated[JobService, Depends(get_service)]


def _add_routes(app: FastAPI) -> None:
    @app.post(
        f"{API_PREFIX}/archive",
        status_code=202,
        response_model=JobAccepted,
        responses=ERRORS,
        summary="Archive records: move them out of the org into its archive table",
    )
    def archive(body: JobRequest, service: Service, response: Response) -> JobAccepted:
        return _accepted(service, "archive", body, response)

    @app.post(
        f"{API_PREFIX}/unarchive",
        status_code=202,
        response_model=JobAccepted,
        responses=ERRORS,
        summary="Unarchive records: insert them back into the org (new Salesforce ids)",
    )
    def unarchive(body: JobRequest, service: Service, response: Response) -> JobAccepted:
        return _accepted(service, "unarchive", body, response)

    @app.get(
        f"{API_PREFIX}/jobs/{{job_id}}",
        response_model=JobStatus,
        responses=ERRORS,
        summary="A job's status and its count of records per outcome",
    )
    def job_status(job_id: uuid.UUID, service: Service) -> JobStatus:
        return service.status(str(job_id))

    @app.get(
        f"{API_PREFIX}/jobs/{{job_id}}/records",
        response_model=RecordPage,
        responses=ERRORS,
        summary="What happened to each record of a job, in sfid order",
    )
    def job_records(
        job_id: uuid.UUID,
        service: Service,
        outcome: Outcome | None = None,
        after: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9]{1,18}$")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_RECORDS_PAGE)] = 1000,
    ) -> RecordPage:
        return service.records(str(job_id), outcome, after, limit)

    @app.get("/health", include_in_schema=False)
    def health(service: Service) -> dict[str, str]:
        # An unreachable database raises OperationalError: a 503 from _database_error.
        with service.runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok"}


def _accepted(service: JobService, kind: str, body: JobRequest, response: Response) -> JobAccepted:
    submitted = service.submit(kind, body)
    status_url = f"{API_PREFIX}/jobs/{submitted.job_id}"
    response.headers["Location"] = status_url
    return JobAccepted(job_id=submitted.job_id, status=submitted.status, status_url=status_url)


def _error(status: int, code: str, message: str, details: list | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status)


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return _error(exc.status_code, exc.code, exc.message, exc.details)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    details = [
        {"field": ".".join(str(part) for part in problem.get("loc", ())), "problem": problem["msg"]}
        for problem in problems[:20]
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return _error(422, "invalid_request", f"invalid request: {summary}{more}", details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode; one status for every malformed body.
        return _error(422, "invalid_request", f"{exc.detail}: send a UTF-8 JSON object")
    codes = {404: "not_found", 405: "method_not_allowed"}
    return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", exc)
    response = _error(503, "database_unavailable", "the database is unavailable; retry shortly")
    response.headers["Retry-After"] = "5"
    return response


def _unauthorised_body(message: str) -> tuple[bytes, str]:
    body = {"error": {"code": "unauthorised", "message": message, "details": []}}
    return json.dumps(body).encode(), "application/json"


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components["securitySchemes"] = {
            "basic": {"type": "http", "scheme": "basic"},
            "bearer": {"type": "http", "scheme": "bearer"},
        }
        schema["security"] = [{"basic": []}, {"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


class LimitBody:
    """ASGI middleware: a 413 for request bodies over `max_bytes`, before anything parses
    them (a million ids would otherwise be read, decoded and validated first)."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send) -> None:
        limit_mb = self.max_bytes // (1024 * 1024)
        response = _error(
            413,
            "payload_too_large",
            f"request body over {limit_mb} MiB; send at most 100000 ids per request",
        )
        await response(scope, receive, send)
