"""Typed errors of the OData service and the OData JSON error body they become.

Every failure a client can cause is one of these; the app turns them into the
OData error format (`{"error": {"code", "message", "target"}}`) with their status.
"""

from __future__ import annotations

import orjson


class ODataError(Exception):
    status = 500
    code = "InternalError"

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.target = target


class BadRequest(ODataError):
    status = 400
    code = "BadRequest"


class QuerySyntaxError(BadRequest):
    """The text of a query option or key does not parse."""

    code = "SyntaxError"


class QueryTypeError(BadRequest):
    """Operands or function arguments of incompatible types (`Name gt 5`)."""

    code = "TypeMismatch"


class UnknownProperty(BadRequest):
    code = "UnknownProperty"


class LimitExceeded(BadRequest):
    """A request beyond the bounds that keep the server safe (length, nesting, size)."""

    code = "LimitExceeded"


class InvalidSkipToken(BadRequest):
    code = "InvalidSkipToken"


class NotFound(ODataError):
    status = 404
    code = "NotFound"


class MethodNotAllowed(ODataError):
    status = 405
    code = "MethodNotAllowed"


class NotAcceptable(ODataError):
    status = 406
    code = "NotAcceptable"


class NotImplementedFeature(ODataError):
    status = 501
    code = "NotImplemented"


class ServiceUnavailable(ODataError):
    status = 503
    code = "ServiceUnavailable"


def error_body(code: str, message: str, target: str | None = None) -> bytes:
    error: dict[str, str] = {"code": code, "message": message}
    if target:
        error["target"] = target
    return orjson.dumps({"error": error})


def body_for(exc: ODataError) -> bytes:
    return error_body(exc.code, exc.message, exc.target)
