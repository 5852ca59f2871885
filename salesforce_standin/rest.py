"""The REST resources: limits, describe (global and per object), a record by id, the
`deleted` replication resource, and SOQL `query`/`queryAll` with `nextRecordsUrl` paging.

Query results are snapshotted when the query runs, so paging through a cursor is stable
while tests change the org underneath, as it is on Salesforce.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from salesforce_standin.context import ServerContext
from salesforce_standin.ids import normalize_id
from salesforce_standin.jobs import Cursor
from salesforce_standin.org import ReplicationDateError, Row, Table, UnknownObject
from salesforce_standin.responses import JSON, not_found, sf_error
from salesforce_standin.soql import SoqlError, parse
from salesforce_standin.values import parse_datetime_text

DEFAULT_BATCH = 2000


def _ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


def _table_or_404(ctx: ServerContext, name: str) -> Table | Response:
    try:
        return ctx.org.table(name)
    except UnknownObject:
        return not_found()


async def versions(request: Request) -> Response:
    """GET /services/data: the API versions on offer."""
    return JSON(
        [
            {"label": "Stand-in", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(52, 63)
        ]
    )


async def limits(request: Request) -> Response:
    org = _ctx(request).org
    api_max, api_left = org.api_requests
    jobs_max, jobs_left = org.bulk_query_jobs
    return JSON(
        {
            "DailyApiRequests": {"Max": api_max, "Remaining": api_left},
            "DailyBulkV2QueryJobs": {"Max": jobs_max, "Remaining": jobs_left},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        }
    )


async def describe_global(request: Request) -> Response:
    return JSON(_ctx(request).org.describe_global(request.path_params["version"]))


async def describe(request: Request) -> Response:
    try:
        return JSON(
            _ctx(request).org.describe(
                request.path_params["object"], request.path_params["version"]
            )
        )
    except UnknownObject:
        return not_found()


async def sobject_info(request: Request) -> Response:
    ctx = _ctx(request)
    table = _table_or_404(ctx, request.path_params["object"])
    if isinstance(table, Response):
        return table
    return JSON(
        {
            "objectDescribe": table.obj.global_entry(request.path_params["version"]),
            "recentItems": [],
        }
    )


async def get_record(request: Request) -> Response:
    ctx = _ctx(request)
    table = _table_or_404(ctx, request.path_params["object"])
    if isinstance(table, Response):
        return table
    record_id = request.path_params["record_id"]
    with ctx.org.lock:
        try:
            row = table.rows.get(normalize_id(record_id))
        except ValueError:
            row = None
    if row is None or row[table.i_deleted] == "true":
        return not_found()
    fields = request.query_params.get("fields")
    indices = list(range(len(table.names)))
    if fields:
        try:
            indices = [table.resolve(f.strip()) for f in fields.split(",")]
        except LookupError as error:
            return sf_error(400, "INVALID_FIELD", str(error))
    names = [table.names[i] for i in indices]
    return JSON(_record(table, row, indices, names, request.path_params["version"]))


def _parse_when(text: str | None) -> Any:
    if not text:
        return None
    # A "+" sent unencoded in a query string arrives as a space.
    return parse_datetime_text(text.strip().replace(" ", "+"))


async def deleted(request: Request) -> Response:
    ctx = _ctx(request)
    name = request.path_params["object"]
    start = _parse_when(request.query_params.get("start"))
    end = _parse_when(request.query_params.get("end"))
    if start is None or end is None:
        return sf_error(
            400, "MALFORMED_QUERY", "start and end are required, as ISO-8601 date-times"
        )
    try:
        return JSON(ctx.org.deleted(name, start, end))
    except UnknownObject:
        return not_found()
    except ReplicationDateError as error:
        return sf_error(400, "INVALID_REPLICATION_DATE", str(error))


def _record(
    table: Table, row: Row, indices: list[int], names: list[str], version: str
) -> dict[str, Any]:
    json = table.json
    record: dict[str, Any] = {
        "attributes": {
            "type": table.name,
            "url": f"/services/data/v{version}/sobjects/{table.name}/{row[table.i_id]}",
        }
    }
    for i, name in zip(indices, names, strict=True):
        value = row[i]
        record[name] = json[i](value) if value else None
    return record


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    if not match:
        return DEFAULT_BATCH
    return max(200, min(DEFAULT_BATCH, int(match.group(1))))


def _page(request: Request, key: str, cursor: Cursor, offset: int) -> Response:
    version = request.path_params["version"]
    size = _batch_size(request)
    chunk = cursor.rows[offset : offset + size]
    end = offset + len(chunk)
    body: dict[str, Any] = {
        "totalSize": len(cursor.rows),
        "done": end >= len(cursor.rows),
        "records": [
            _record(cursor.table, row, cursor.indices, cursor.header, version) for row in chunk
        ],
    }
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{key}-{end}"
    return JSON(body)


async def query(request: Request) -> Response:
    """GET .../query?q= and .../queryAll?q=."""
    ctx = _ctx(request)
    endpoint = "queryAll" if request.url.path.rstrip("/").endswith("queryAll") else "query"
    soql = request.query_params.get("q")
    if not soql:
        return sf_error(400, "MALFORMED_QUERY", "A query string is required (q=)")
    try:
        parsed = parse(soql, ctx.org)
    except SoqlError as error:
        return sf_error(400, error.code, error.message)
    with ctx.org.lock:
        table, rows = ctx.org.snapshot(parsed.object_name)
        selected = parsed.run(rows, include_deleted=endpoint == "queryAll")
    cursor = Cursor(table, parsed.indices, parsed.header, selected, endpoint)
    key = ctx.cursors.add(cursor)
    return _page(request, key, cursor, 0)


async def query_more(request: Request) -> Response:
    """GET .../query/{cursor}-{offset}."""
    ctx = _ctx(request)
    locator = request.path_params["locator"]
    key, _, offset_text = locator.rpartition("-")
    cursor = ctx.cursors.get(key) if offset_text.isdigit() else None
    if cursor is None or int(offset_text) > len(cursor.rows):
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(request, key, cursor, int(offset_text))
