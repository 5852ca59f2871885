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
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object_name,
            "createdById": user_id,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query",
            "lineEnding": "CRLF" if self.line_ending == "\r\n" else "LF",
            "columnDelimiter": _delimiter_name(self.delimiter),
            "numberRecordsProcessed": len(self.rows) if self.state == "JobComplete" else 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "isPkChunkingSupported": True,
        }
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out


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
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object_name,
            "createdById": user_id,
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "externalIdFieldName": self.external_id,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            "lineEnding": "CRLF" if self.line_ending == "\r\n" else "LF",
            "columnDelimiter": _delimiter_name(self.delimiter),
            "numberRecordsProcessed": len(self.successes) + len(self.failures),
            "numberRecordsFailed": len(self.failures),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.error_message:
            out["errorMessage"] = self.error_message
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
