"""What the server holds between requests for paging: Bulk API 2.0 jobs (query results
fixed at creation, ingest uploads and their outcome) and REST query cursors."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from salesforce_standin.org import Row, Table

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_MAX_CURSORS = 200


@dataclass
class QueryJob:
    id: str
    operation: str
    object_name: str
    query: str
    version: str
    created: str
    delimiter: str
    line_ending: str
    table: Table
    indices: list[int]
    header: list[str]
    rows: list[Row]
    pending_failure: str | None = None
    state: str = "UploadComplete"
    error_message: str | None = None

    def info(self, user_id: str) -> dict[str, Any]:
        return _job_info(
            self,
            user_id,
            "V2Query",
            numberRecordsProcessed=len(self.rows) if self.state == "JobComplete" else 0,
            isPkChunkingSupported=True,
        )


@dataclass
class IngestJob:
    id: str
    operation: str
    object_name: str
    external_id: str | None
    version: str
    created: str
    delimiter: str
    line_ending: str
    state: str = "Open"
    data: bytes | None = None
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self, user_id: str) -> dict[str, Any]:
        return _job_info(
            self,
            user_id,
            "V2Ingest",
            externalIdFieldName=self.external_id,
            contentUrl=f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            numberRecordsProcessed=len(self.successes) + len(self.failures),
            numberRecordsFailed=len(self.failures),
            apiActiveProcessingTime=0,
            apexProcessingTime=0,
        )


def _job_info(job: QueryJob | IngestJob, user_id: str, kind: str, **more: Any) -> dict[str, Any]:
    """A Bulk API 2.0 job as Salesforce describes it: what both kinds share, then
    `more` of the kind's own."""
    out: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.object_name,
        "createdById": user_id,
        "createdDate": job.created,
        "systemModstamp": job.created,
        "state": job.state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(job.version),
        "jobType": kind,
        "lineEnding": "CRLF" if job.line_ending == "\r\n" else "LF",
        "columnDelimiter": _delimiter_name(job.delimiter),
        "retries": 0,
        "totalProcessingTime": 0,
        **more,
    }
    if job.error_message:
        out["errorMessage"] = job.error_message
    return out


def _delimiter_name(delimiter: str) -> str:
    return next(name for name, char in DELIMITERS.items() if char == delimiter)


class BulkJobs:
    """The jobs a server knows, by id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.query: dict[str, QueryJob] = {}
        self.ingest: dict[str, IngestJob] = {}


@dataclass
class Cursor:
    table: Table
    indices: list[int]
    header: list[str]
    rows: list[Row]
    endpoint: str  # query or queryAll


class Cursors:
    """Open query cursors, oldest dropped first (Salesforce keeps a bounded number too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Cursor] = OrderedDict()

    def add(self, cursor: Cursor) -> str:
        key = "01g" + secrets.token_hex(8)
        with self._lock:
            self._open[key] = cursor
            while len(self._open) > _MAX_CURSORS:
                self._open.popitem(last=False)
        return key

    def get(self, key: str) -> Cursor | None:
        with self._lock:
            return self._open.get(key)
