"""The archive service's errors. Each says what was wrong and what to send instead;
the API turns a `RequestError` into its HTTP status, and a worker turns a `JobError`
into a failed job with that message."""

from __future__ import annotations

from typing import Any


class ArchiveError(Exception):
    """Base of the archive service's own errors."""


class RequestError(ArchiveError):
    """A request the service refuses; nothing was changed."""

    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class UnknownOrg(RequestError):
    code = "unknown_org"


class LiveTableMissing(RequestError):
    code = "live_table_missing"


class InvalidIds(RequestError):
    code = "invalid_ids"


class InvalidCriteria(RequestError):
    code = "invalid_criteria"


class JobNotFound(RequestError):
    status_code = 404
    code = "job_not_found"


class JobError(ArchiveError):
    """A job cannot be completed as asked (retrying will not help); it is marked failed."""


class Interrupted(ArchiveError):
    """The worker is shutting down between two batches; the job is retried elsewhere."""
