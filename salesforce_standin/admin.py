"""Admin endpoints under /__standin__/, for driving a stand-in that runs in another
process (the demo, or a subprocess in a test). Every call needs the header
`X-Standin-Token: <admin token>`; nothing here is part of the Salesforce protocol.

    POST /__standin__/records/{Object}   CSV (API names in the header) or JSON list -> {"ids"}
    GET  /__standin__/records/{Object}?include_deleted=true           -> rows as JSON
    POST /__standin__/update/{Object}    CSV or JSON list, each with Id -> {"updated"}
    POST /__standin__/delete/{Object}    CSV with Id, or JSON ids      -> {"deleted"}
    POST /__standin__/purge/{Object}     CSV with Id, or JSON ids      -> {"purged"}
    POST /__standin__/fields/{Object}    JSON FieldDef arguments
    POST /__standin__/faults             JSON (see Faults.apply); "api_requests": [max, left]
    POST /__standin__/clock              JSON {"offset_seconds": s} shifts the org's clock
    GET  /__standin__/requests           the request log; DELETE clears it
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from salesforce_standin.context import ServerContext
from salesforce_standin.org import UnknownField, UnknownObject
from salesforce_standin.responses import JSON
from salesforce_standin.schema import FieldDef
from salesforce_standin.values import InvalidValue


def _error(status: int, message: str) -> Response:
    return JSON({"error": message}, status_code=status)


def _authorised(request: Request) -> bool:
    ctx: ServerContext = request.app.state.ctx
    given = request.headers.get("x-standin-token", "")
    return secrets.compare_digest(given, ctx.admin_token)


async def _rows(request: Request) -> list[dict[str, Any]]:
    """The body as a list of dicts: JSON (a list of objects, or of ids, or {"ids": [...]})
    or CSV with API names in the header."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or body.lstrip()[:1] in (b"[", b"{"):
        data = orjson.loads(body)
        if isinstance(data, dict):
            data = [{"Id": i} for i in data.get("ids", [])]
        return [item if isinstance(item, dict) else {"Id": item} for item in data]
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    return list(reader)


def _guarded(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        if not _authorised(request):
            return _error(403, "missing or wrong X-Standin-Token")
        try:
            return await handler(request)
        except (UnknownObject, UnknownField, KeyError, InvalidValue, ValueError) as error:
            return _error(400, str(error))

    return endpoint


async def records(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    name = request.path_params["object"]
    if request.method == "GET":
        include = request.query_params.get("include_deleted", "").lower() in ("1", "true")
        return JSON(ctx.org.rows(name, include_deleted=include))
    return JSON({"ids": ctx.org.insert(name, await _rows(request))})


async def update(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    rows = await _rows(request)
    with ctx.org.lock:
        for row in rows:
            values = {k: v for k, v in row.items() if k.lower() != "id"}
            ctx.org.update(
                request.path_params["object"], str(row.get("Id") or row.get("id")), values
            )
    return JSON({"updated": len(rows)})


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row.get("Id") or row.get("id")) for row in rows]


async def delete(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    ids = _ids(await _rows(request))
    ctx.org.delete(request.path_params["object"], ids)
    return JSON({"deleted": len(ids)})


async def purge(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    ids = _ids(await _rows(request))
    ctx.org.purge(request.path_params["object"], ids)
    return JSON({"purged": len(ids)})


async def fields(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    spec = orjson.loads(await request.body())
    for key in ("picklist_values", "reference_to"):
        if key in spec:
            spec[key] = tuple(spec[key])
    ctx.org.add_field(request.path_params["object"], FieldDef(**spec))
    return JSON({"added": spec["name"]})


async def faults(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    spec = orjson.loads(await request.body())
    ctx.org.faults.apply(spec)
    if spec.get("api_requests") is not None:
        ctx.org.api_requests = tuple(spec["api_requests"])  # type: ignore[assignment]
    return JSON({"ok": True})


async def clock(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    spec = orjson.loads(await request.body())
    offset = timedelta(seconds=float(spec.get("offset_seconds", 0)))
    ctx.org.clock = lambda: datetime.now(UTC) + offset
    return JSON({"now": ctx.org.now().isoformat()})


async def requests_log(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    with ctx.requests_lock:
        if request.method == "DELETE":
            ctx.requests.clear()
            return JSON({"cleared": True})
        return JSON([r._asdict() for r in ctx.requests])


ROUTES = [
    Route("/__standin__/records/{object}", _guarded(records), methods=["GET", "POST"]),
    Route("/__standin__/update/{object}", _guarded(update), methods=["POST"]),
    Route("/__standin__/delete/{object}", _guarded(delete), methods=["POST"]),
    Route("/__standin__/purge/{object}", _guarded(purge), methods=["POST"]),
    Route("/__standin__/fields/{object}", _guarded(fields), methods=["POST"]),
    Route("/__standin__/faults", _guarded(faults), methods=["POST"]),
    Route("/__standin__/clock", _guarded(clock), methods=["POST"]),
    Route("/__standin__/requests", _guarded(requests_log), methods=["GET", "DELETE"]),
]
