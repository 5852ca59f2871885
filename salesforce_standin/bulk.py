"""Bulk API 2.0: query jobs (CSV results paged with `Sforce-Locator`) and ingest jobs
(CSV upload, processing on UploadComplete, successful/failed/unprocessed result files).

A query job's result set is fixed when the job is created: later changes to the org do not
alter it, and fetching the same locator twice returns the same page, so a client may retry
a page after a broken download. Results are rendered from the stored CSV text: an
`itemgetter` projection and a `str.join` per row, no per-value Python call.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from collections.abc import Callable
from operator import itemgetter
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from salesforce_standin.context import ServerContext
from salesforce_standin.jobs import DELIMITERS, LINE_ENDINGS, IngestJob, QueryJob
from salesforce_standin.org import RecordError, Row, StandinOrg, Table, UnknownField, UnknownObject
from salesforce_standin.responses import JSON, not_found, sf_error
from salesforce_standin.soql import SoqlError, parse
from salesforce_standin.values import FALSE, render_datetime

DEFAULT_PAGE = 50_000
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


class ConnectionCut(Exception):
    """Raised after a deliberately partial body so that uvicorn drops the connection."""


def render_csv(
    header: list[str],
    rows: list[Row],
    indices: list[int],
    delimiter: str = ",",
    line_ending: str = "\n",
) -> bytes:
    """Rows as Bulk API result CSV: a header, then every value double-quoted, a null as
    `""` (Salesforce keeps no empty strings, so that text only ever means null)."""
    project = itemgetter(*indices) if len(indices) > 1 else _single(indices[0])
    joiner = f'"{delimiter}"'.join
    text = _quoted(header, delimiter, line_ending)
    if rows:
        # Stored values are all text, so a row is one str.join. A value holding a double
        # quote would need it doubled: count the quotes of the whole page (one C call) and
        # fall back to the csv module for the rare page where that is needed.
        body = '"' + f'"{line_ending}"'.join(map(joiner, map(project, rows))) + '"' + line_ending
        if body.count('"') == 2 * len(indices) * len(rows):
            return (text + body).encode("utf-8")
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL
        )
        writer.writerows(map(project, rows))
        text += buffer.getvalue()
    return text.encode("utf-8")


def _single(i: int) -> Callable[[Row], tuple[str]]:
    def project(row: Row) -> tuple[str]:
        return (row[i],)

    return project


def _quoted(values: list[str], delimiter: str, line_ending: str) -> str:
    buffer = io.StringIO()
    csv.writer(
        buffer, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_ALL
    ).writerow(values)
    return buffer.getvalue()


def _stamp(org: StandinOrg) -> str:
    return render_datetime(org.now())[:-1] + "+0000"


def _ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


def _user_id(request: Request) -> str:
    session = request.scope.get("standin.session")
    return session.user_id if session is not None else ""


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _options(body: dict[str, Any]) -> tuple[str, str] | Response:
    delimiter = DELIMITERS.get(str(body.get("columnDelimiter") or "COMMA"))
    line_ending = LINE_ENDINGS.get(str(body.get("lineEnding") or "LF"))
    if delimiter is None or line_ending is None:
        return sf_error(400, "INVALIDJOB", "InvalidJob : unsupported columnDelimiter or lineEnding")
    if str(body.get("contentType") or "CSV") != "CSV":
        return sf_error(400, "INVALIDJOB", "InvalidJob : contentType must be CSV")
    return delimiter, line_ending


# -- query jobs -------------------------------------------------------------------------
async def create_query_job(request: Request) -> Response:
    ctx = _ctx(request)
    org = ctx.org
    body = await _json_body(request)
    if body is None:
        return sf_error(400, "JSON_PARSER_ERROR", "The request body is not a JSON object")
    operation = body.get("operation")
    if operation not in ("query", "queryAll"):
        return sf_error(400, "INVALIDJOB", f"InvalidJob : invalid operation: {operation}")
    options = _options(body)
    if isinstance(options, Response):
        return options
    text = str(body.get("query") or "")
    try:
        parsed = parse(text, org)
    except SoqlError as error:
        return sf_error(400, error.code, error.message)
    if not org.spend_bulk_query_job():
        return sf_error(400, "LIMIT_EXCEEDED", "Daily limit of Bulk API 2.0 query jobs exceeded")
    with org.lock:
        table, rows = org.snapshot(parsed.object_name)
        selected = parsed.run(rows, include_deleted=operation == "queryAll")
    job = QueryJob(
        id=org.new_id("750"),
        operation=operation,
        object_name=table.name,
        query=text,
        version=request.path_params["version"],
        created=_stamp(org),
        delimiter=options[0],
        line_ending=options[1],
        table=table,
        indices=parsed.indices,
        header=parsed.header,
        rows=selected,
        pending_failure=org.faults.take_query_job_failure(table.name),
    )
    with ctx.jobs.lock:
        ctx.jobs.query[job.id] = job
    return JSON(job.info(_user_id(request)))


def _query_job(request: Request) -> QueryJob | None:
    ctx = _ctx(request)
    with ctx.jobs.lock:
        return ctx.jobs.query.get(request.path_params["job_id"])


async def query_job(request: Request) -> Response:
    """GET (state: InProgress on the first poll, then JobComplete or Failed), PATCH
    (Aborted) and DELETE."""
    ctx = _ctx(request)
    job = _query_job(request)
    if job is None:
        return not_found()
    if request.method == "DELETE":
        with ctx.jobs.lock:
            ctx.jobs.query.pop(job.id, None)
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _json_body(request)
        if body is None or body.get("state") != "Aborted":
            return sf_error(400, "INVALIDJOBSTATE", "A query job can only be set to Aborted")
        if job.state in ("JobComplete", "Failed"):
            return sf_error(400, "INVALIDJOBSTATE", f"Job is already {job.state}")
        job.state = "Aborted"
        return JSON(job.info(_user_id(request)))
    if job.state == "UploadComplete":
        job.state = "InProgress"
    elif job.state == "InProgress":
        _finish(job)
    return JSON(job.info(_user_id(request)))


def _finish(job: QueryJob) -> None:
    if job.pending_failure is not None:
        job.state = "Failed"
        job.error_message = job.pending_failure
        job.rows = []
    else:
        job.state = "JobComplete"


def _locator(page: int, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{page}:{offset}".encode()).decode().rstrip("=")


def _unlocator(text: str) -> tuple[int, int] | None:
    try:
        page, _, offset = (
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition(":")
        )
        return int(page), int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class _CutResponse(Response):
    """Headers announcing the whole body, part of it, then a dropped connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        raise ConnectionCut("results page cut on purpose")


async def query_results(request: Request) -> Response:
    ctx = _ctx(request)
    job = _query_job(request)
    if job is None:
        return not_found()
    if job.state in ("Failed", "Aborted"):
        return sf_error(400, "INVALIDJOBSTATE", f"Job is {job.state}: no results")
    if job.state != "JobComplete":
        # A client that skips polling gets the results anyway: they were fixed at creation.
        _finish(job)
        if job.state == "Failed":
            return sf_error(400, "INVALIDJOBSTATE", "Job is Failed: no results")
    text = request.query_params.get("maxRecords")
    if text is not None and (not text.isdigit() or int(text) < 1):
        return sf_error(400, "INVALIDMAXRECORDS", "maxRecords must be a positive integer")
    size = int(text) if text else DEFAULT_PAGE
    page, offset = 1, 0
    locator = request.query_params.get("locator")
    if locator and locator != "null":
        decoded = _unlocator(locator)
        if decoded is None or not 0 <= decoded[1] <= len(job.rows):
            return sf_error(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
        page, offset = decoded
    end = min(offset + size, len(job.rows))
    body = render_csv(job.header, job.rows[offset:end], job.indices, job.delimiter, job.line_ending)
    headers = {
        "Sforce-Locator": _locator(page + 1, end) if end < len(job.rows) else "null",
        "Sforce-NumberOfRecords": str(end - offset),
    }
    if ctx.org.faults.take_cut(page):
        return _CutResponse(body, headers=headers, media_type="text/csv")
    return Response(body, headers=headers, media_type="text/csv")


# -- ingest jobs ------------------------------------------------------------------------
async def create_ingest_job(request: Request) -> Response:
    ctx = _ctx(request)
    org = ctx.org
    body = await _json_body(request)
    if body is None:
        return sf_error(400, "JSON_PARSER_ERROR", "The request body is not a JSON object")
    operation = body.get("operation")
    if operation not in INGEST_OPERATIONS:
        return sf_error(400, "INVALIDJOB", f"InvalidJob : invalid operation: {operation}")
    options = _options(body)
    if isinstance(options, Response):
        return options
    try:
        table = org.table(str(body.get("object") or ""))
    except UnknownObject as error:
        return sf_error(400, "INVALIDJOB", f"InvalidJob : {error}")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        try:
            field_def = table.field(str(external or ""))
        except UnknownField:
            return sf_error(
                400, "INVALIDJOB", f"InvalidJob : External ID was blank or not valid: {external}"
            )
        if not (field_def.external_id or field_def.name == "Id"):
            return sf_error(
                400, "INVALIDJOB", f"InvalidJob : {field_def.name} is not an external id field"
            )
        external = field_def.name
    job = IngestJob(
        id=org.new_id("750"),
        operation=operation,
        object_name=table.name,
        external_id=external if operation == "upsert" else None,
        version=request.path_params["version"],
        created=_stamp(org),
        delimiter=options[0],
        line_ending=options[1],
    )
    with ctx.jobs.lock:
        ctx.jobs.ingest[job.id] = job
    return JSON(job.info(_user_id(request)))


def _ingest_job(request: Request) -> IngestJob | None:
    ctx = _ctx(request)
    with ctx.jobs.lock:
        return ctx.jobs.ingest.get(request.path_params["job_id"])


async def upload_batch(request: Request) -> Response:
    """PUT .../jobs/ingest/{id}/batches: the job's one CSV upload; 201 as Salesforce."""
    job = _ingest_job(request)
    if job is None:
        return not_found()
    if job.state != "Open":
        return sf_error(400, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
    if job.data is not None:
        return sf_error(
            400,
            "INVALIDJOBSTATE",
            f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' "
            "/ 'Delete' the current Job then create a new Job and make sure you only "
            "do 'PUT' once on a given Job.",
        )
    job.data = await request.body()
    return Response(status_code=201)


async def ingest_job(request: Request) -> Response:
    """GET, PATCH (UploadComplete processes the data; Aborted) and DELETE."""
    ctx = _ctx(request)
    job = _ingest_job(request)
    if job is None:
        return not_found()
    if request.method == "DELETE":
        with ctx.jobs.lock:
            ctx.jobs.ingest.pop(job.id, None)
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await _json_body(request)
        state = body.get("state") if body else None
        if job.state != "Open":
            return sf_error(400, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
        if state == "Aborted":
            job.state = "Aborted"
            if job.data is not None:
                _read_unprocessed(job)
            return JSON(job.info(_user_id(request)))
        if state != "UploadComplete":
            return sf_error(400, "INVALIDJOBSTATE", f"Invalid state: {state}")
        if job.data is None:
            return sf_error(400, "INVALIDJOBSTATE", "No data was uploaded for this job")
        job.state = "UploadComplete"
        reply = job.info(_user_id(request))
        _process(ctx.org, job)
        return JSON(reply)
    return JSON(job.info(_user_id(request)))


def _records(job: IngestJob) -> list[list[str]]:
    text = (job.data or b"").decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=job.delimiter))


def _read_unprocessed(job: IngestJob) -> None:
    records = _records(job)
    if records:
        job.header = records[0]
        job.unprocessed = records[1:]


def _process(org: StandinOrg, job: IngestJob) -> None:
    records = _records(job)
    if not records:
        job.state = "Failed"
        job.error_message = "InvalidBatch : Empty CSV file"
        return
    job.header, rows = records[0], [r for r in records[1:] if r]
    table = org.table(job.object_name)
    names: list[str] = []
    for column in job.header:
        try:
            names.append(table.field(column.strip()).name)
        except UnknownField:
            job.state = "Failed"
            job.error_message = f"InvalidBatch : Field name not found : {column}"
            job.unprocessed = rows
            return
    if job.operation in ("delete", "hardDelete") and names != ["Id"]:
        job.state = "Failed"
        job.error_message = "InvalidBatch : The 'delete' batch must contain only 'Id' field"
        job.unprocessed = rows
        return
    lookup: dict[str, str] | None = None
    for raw in rows:
        cells = (raw + [""] * len(names))[: len(names)]
        values: dict[str, Any] = {}
        for name, cell in zip(names, cells, strict=True):
            if cell == "":
                continue  # empty means "leave as is" (null, on insert)
            values[name] = None if cell == "#N/A" else cell
        record_id = str(values.get("Id") or "")
        try:
            if job.operation == "insert":
                values.pop("Id", None)
                rid, created = org.api_insert(table.name, values), True
            elif job.operation == "update":
                if not record_id:
                    raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
                values.pop("Id", None)
                rid, created = org.api_update(table.name, record_id, values), False
            elif job.operation == "upsert":
                if lookup is None:
                    lookup = _external_lookup(org, table, job.external_id or "Id")
                rid, created = _upsert(org, table, job.external_id or "Id", values, lookup)
            else:
                if not record_id:
                    raise RecordError("MISSING_ARGUMENT", "Id not specified in a delete call")
                rid = org.api_delete(table.name, record_id, hard=job.operation == "hardDelete")
                created = False
        except RecordError as error:
            job.failures.append([record_id, error.bulk_text(), *raw])
            continue
        job.successes.append([rid, "true" if created else "false", *raw])
    job.state = "JobComplete"


def _external_lookup(org: StandinOrg, table: Table, external: str) -> dict[str, str]:
    if external == "Id":
        return {}
    i = table.resolve(external)
    with org.lock:
        return {
            row[i].casefold(): row[table.i_id]
            for row in table.rows.values()
            if row[i] and row[table.i_deleted] == FALSE
        }


def _upsert(
    org: StandinOrg, table: Table, external: str, values: dict[str, Any], lookup: dict[str, str]
) -> tuple[str, bool]:
    key = values.get(external)
    if external == "Id":
        if key:
            return org.api_update(
                table.name, key, {k: v for k, v in values.items() if k != "Id"}
            ), False
        return org.api_insert(table.name, values), True
    if not key:
        raise RecordError("MISSING_ARGUMENT", f"{external} not specified", [external])
    existing = lookup.get(str(key).casefold())
    if existing is not None:
        return org.api_update(table.name, existing, values), False
    rid = org.api_insert(table.name, values)
    lookup[str(key).casefold()] = rid
    return rid, True


async def ingest_results(request: Request) -> Response:
    """GET .../successfulResults, failedResults, unprocessedrecords."""
    job = _ingest_job(request)
    if job is None:
        return not_found()
    kind = request.path_params["kind"].lower()
    if kind == "successfulresults":
        header, rows = ["sf__Id", "sf__Created", *job.header], job.successes
    elif kind == "failedresults":
        header, rows = ["sf__Id", "sf__Error", *job.header], job.failures
    elif kind == "unprocessedrecords":
        header, rows = list(job.header), job.unprocessed
    else:
        return not_found()
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=job.delimiter, lineterminator=job.line_ending, quoting=csv.QUOTE_ALL
    )
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buffer.getvalue().encode(), media_type="text/csv")


async def list_jobs(request: Request) -> Response:
    ctx = _ctx(request)
    user = _user_id(request)
    with ctx.jobs.lock:
        jobs: list[QueryJob | IngestJob] = list(
            ctx.jobs.query.values()
            if request.url.path.rstrip("/").endswith("query")
            else ctx.jobs.ingest.values()
        )
    return JSON({"done": True, "records": [j.info(user) for j in jobs], "nextRecordsUrl": None})
