"""Response helpers: JSON through orjson (describe and query pages are large and built on
every request), and Salesforce's error body `[{"message": ..., "errorCode": ...}]`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json;charset=UTF-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def sf_error(status: int, code: str, message: str) -> Response:
    """An API error the way Salesforce sends it."""
    return JSON([{"message": message, "errorCode": code}], status_code=status)


def not_found(message: str = "The requested resource does not exist") -> Response:
    return sf_error(404, "NOT_FOUND", message)
