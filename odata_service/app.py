"""The ASGI application: `create_app(settings)` wires model, reader and routes.

Routes stay thin: find the request's plan (parsed and planned once per distinct
request, see plans.py), run it on a worker thread, render the result. Two small ASGI
layers wrap the app: `ODataProtocol`
(OData-Version on every response, OData-MaxVersion negotiation) and the shared
`RequireAuth`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.database import make_engine
from odata_service import serializers
from odata_service.compiler import trigram_search
from odata_service.counts import CountCache
from odata_service.errors import ODataError, body_for, error_body
from odata_service.metadata import csdl_xml
from odata_service.model import load_model
from odata_service.options import QueryOptions, parse_options
from odata_service.paths import parse_path
from odata_service.plans import PlanCache
from odata_service.publications import PublicationListener
from odata_service.reader import Entity, Page, Plan, Reader
from odata_service.settings import ODataSettings
from service_auth import RequireAuth

log = logging.getLogger(__name__)

ODATA_VERSION = b"4.0"
# The database URL `odata serve` resolved, for its worker processes.
DATABASE_URL_VAR = "ORG360_ODATA_DATABASE_URL"
_MAX_PAGE_SIZE = re.compile(r"(?:^|[\s,;])(?:odata\.)?maxpagesize\s*=\s*\"?(\d+)\"?", re.I)
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)\s*$")
# Characters left readable in next links; everything else is percent-encoded.
_LINK_SAFE = "$'(),:/*@"


def app_from_env() -> ODataProtocol:
    """The app of one of uvicorn's worker processes (`odata serve --workers N`).

    The CLI resolved the database URL and left it in the environment; the rest of the
    settings come from the environment as they do for a single process.
    """
    database_url = os.environ.get(DATABASE_URL_VAR)
    if not database_url:
        raise RuntimeError(f"{DATABASE_URL_VAR} is not set; start the service with `odata serve`")
    app = create_app(ODataSettings.from_env(database_url))
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """Keep what exists at startup (modules, the model, SQLAlchemy's tables) out of GC.

    These objects live as long as the process; without this every full collection
    walks them all again: 40 ms with the GIL held, about once a second under load.
    """
    gc.collect()
    gc.freeze()


def service_engine(settings: ODataSettings) -> Engine:
    return make_engine(
        settings.database_url,
        # One more for the background recount of `$count` values (counts.py). No
        # overflow: a connection opened past the pool is closed when returned, and a
        # new backend costs Postgres milliseconds and cold catalogue caches.
        pool_size=settings.pool_size + 1,
        max_overflow=0,
        # No ping per checkout (a round trip on every request): a connection that died
        # fails one request with a 503 and is replaced by the pool.
        pool_pre_ping=False,
        # Each request reads with one or two statements; see reader.py.
        isolation_level="AUTOCOMMIT",
        connect_args={
            "application_name": "org360-odata",
            # UTC for date parts and timestamptz values; read-only as a second guard;
            # no JIT, whose compilation costs more than these short queries run.
            "options": (
                "-c TimeZone=UTC -c default_transaction_read_only=on -c jit=off "
                f"-c statement_timeout={settings.statement_timeout_ms}"
            ),
        },
    )


def create_app(settings: ODataSettings, engine: Engine | None = None) -> ODataProtocol:
    """Build the service; reflects the database once, so the tables must exist."""
    settings.credentials.validate()
    engine = engine or service_engine(settings)
    model = load_model(engine)
    counts = CountCache(settings.count_ttl_seconds, connect=engine.connect)
    # Started here, not in the lifespan: `org360 serve` runs this app without one.
    listener = PublicationListener(engine, counts.clear).start()
    reader = Reader(engine, model, counts)
    # As many worker threads as pooled connections: none waits on the pool. Requests
    # whose cost depends on the data ($filter, $search) get a third of them, so list
    # views, records and next pages never queue behind searches. Plain executors:
    # anyio's to_thread costs four times as much per request (70 µs against 16).
    heavy_threads = max(1, settings.pool_size // 3)
    executors = Executors(
        light=ThreadPoolExecutor(
            max(1, settings.pool_size - heavy_threads), thread_name_prefix="odata"
        ),
        heavy=ThreadPoolExecutor(heavy_threads, thread_name_prefix="odata-filtered"),
    )
    routes = _Routes(reader, csdl_xml(model), settings, executors)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        listener.stop()
        executors.shutdown()
        counts.close()
        engine.dispose()

    app = Starlette(
        routes=[
            Route("/odata", routes.service_document, methods=["GET"]),
            Route("/odata/", routes.service_document, methods=["GET"]),
            Route("/odata/$metadata", routes.metadata, methods=["GET"]),
            Route("/odata/{path:path}", routes.resource, methods=["GET"]),
        ],
        exception_handlers={
            ODataError: _odata_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    secured = RequireAuth(
        app,
        settings.credentials,
        unauthorised_body=_unauthorised_body,
        open_paths=frozenset({"/odata/$metadata"} if settings.public_metadata else ()),
    )
    return ODataProtocol(secured)


@dataclass(frozen=True)
class Executors:
    light: ThreadPoolExecutor
    heavy: ThreadPoolExecutor

    def shutdown(self) -> None:
        self.light.shutdown(wait=True, cancel_futures=True)
        self.heavy.shutdown(wait=True, cancel_futures=True)


class _Routes:
    def __init__(
        self,
        reader: Reader,
        metadata_xml: bytes,
        settings: ODataSettings,
        executors: Executors,
    ) -> None:
        self.reader = reader
        self.metadata_xml = metadata_xml
        self.settings = settings
        self.executors = executors
        self.plans = PlanCache()

    async def service_document(self, request: Request) -> Response:
        root = _service_root(request)
        body = serializers.service_document(root + "$metadata", self.reader.model.entity_sets)
        return _json(body)

    async def metadata(self, request: Request) -> Response:
        return Response(self.metadata_xml, media_type="application/xml")

    async def resource(self, request: Request) -> Response:
        page_size, preference = self.page_size(request)
        options, plan = self.plan(
            request.path_params["path"], request.scope["query_string"], page_size
        )
        executor = self.executors.heavy if plan.filtered else self.executors.light
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(executor, self.reader.run, plan)
        if isinstance(result, int):
            return Response(str(result), media_type="text/plain")
        root = _service_root(request)
        context = f"{root}$metadata#{result.entity_set.name}"
        if options.select and "*" not in options.select:
            context += "(" + ",".join(options.select) + ")"
        if isinstance(result, Entity):
            if result.row is None:
                return Response(status_code=204)
            return _json(serializers.entity(context + "/$entity", result.names, result.row))
        assert isinstance(result, Page)
        next_link = None
        if result.next_token is not None:
            next_link = _next_link(request, root, options.raw, result)
        body = serializers.collection(context, result.names, result.rows, result.count, next_link)
        headers = {"Preference-Applied": preference} if preference else None
        return _json(body, headers)

    def plan(self, path: str, query_string: bytes, page_size: int) -> tuple[QueryOptions, Plan]:
        """The request's plan, or that of an identical request made before."""

        def build() -> tuple[tuple[QueryOptions, Plan], bool]:
            resource = parse_path(path)
            # Clients should percent-encode; raw UTF-8 bytes are accepted as well.
            options = parse_options(query_string.decode("utf-8", "replace"))
            plan = self.reader.plan(resource, options, page_size)
            # Requests for one record, one token or one search term are rarely repeated.
            keep = (
                resource.key is None
                and options.skiptoken is None
                and not trigram_search(options.filter, options.search)
            )
            return (options, plan), keep

        return self.plans.get((path, query_string, page_size), build)

    def page_size(self, request: Request) -> tuple[int, str | None]:
        prefer = request.headers.get("prefer")
        match = _MAX_PAGE_SIZE.search(prefer) if prefer else None
        if match is None or int(match.group(1)) == 0:
            return self.settings.page_size, None
        size = min(int(match.group(1)), self.settings.page_size)
        return size, f"odata.maxpagesize={size}"


def _service_root(request: Request) -> str:
    return f"{request.base_url}odata/"


def _next_link(request: Request, root: str, raw: dict[str, str], page: Page) -> str:
    params = {k: v for k, v in raw.items() if k not in ("$skip", "$skiptoken", "$top")}
    if page.remaining_top is not None:
        params["$top"] = str(page.remaining_top)
    params["$skiptoken"] = page.next_token or ""
    resource = request.scope.get("raw_path", b"").decode("latin-1")
    resource = resource.split("/odata/", 1)[1] if "/odata/" in resource else resource
    return f"{root}{resource}?{urlencode(params, quote_via=quote, safe=_LINK_SAFE)}"


def _json(body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(
        body, status_code=status, headers=headers, media_type=serializers.JSON_CONTENT_TYPE
    )


def _error_response(status: int, body: bytes) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def _odata_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ODataError)
    return _error_response(exc.status, body_for(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "NotFound", 405: "MethodNotAllowed"}
    message = {
        404: "no such resource; the service root is /odata/",
        405: "this service is read-only: only GET is supported",
    }.get(exc.status_code, str(exc.detail))
    return _error_response(
        exc.status_code, error_body(codes.get(exc.status_code, "Error"), message)
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error for %s", request.url.path, exc_info=exc)
    return _error_response(500, error_body("InternalError", "internal server error"))


def _unauthorised_body(message: str) -> tuple[bytes, str]:
    return error_body("Unauthorized", message), "application/json"


class ODataProtocol:
    """OData-Version on every response; a request capped below 4.0 is refused (400)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"odata-version", ODATA_VERSION),
                ]
            await send(message)

        for name, value in scope.get("headers", []):
            if name == b"odata-maxversion":
                problem = _max_version_problem(value.decode("latin-1"))
                if problem:
                    response = _error_response(400, error_body("UnsupportedVersion", problem))
                    await response(scope, receive, send_with_version)
                    return
        await self.app(scope, receive, send_with_version)


def _max_version_problem(value: str) -> str | None:
    match = _VERSION.match(value)
    if match is None:
        return f"OData-MaxVersion {value!r} is not a version such as 4.0"
    if (int(match.group(1)), int(match.group(2))) < (4, 0):
        return f"this service speaks OData 4.0; OData-MaxVersion {value} is too low"
    return None
