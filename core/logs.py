"""Logs of org360's long-running processes: one line per event on standard output,
where platforms collect them (Heroku's log router, Docker, journald).

`$ORG360_LOG_FORMAT=json` writes each event as one JSON object (`event`, `logger`,
`level`, `timestamp`, as Dagster's JSON lines have them, and the request id when a web
request is being answered), for log stores
that index fields; the default is plain text. `$ORG360_LOG_LEVEL` sets the level
(default INFO).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import threading
import time

FORMAT_VAR = "ORG360_LOG_FORMAT"
LEVEL_VAR = "ORG360_LOG_LEVEL"
FORMATS = ("text", "json")

# The id of the web request being answered, when there is one.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "org360_request_id", default=None
)


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "request_id", None):
            line += f" request_id={record.request_id}"
        # One event, one line: a traceback's lines are joined.
        return line.replace("\n", " | ")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The keys of Dagster's own JSON lines (structlog's), so the processes org360
        # starts write the same shape.
        event = {
            "event": record.getMessage(),
            "logger": record.name,
            "level": record.levelname.lower(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
        }
        if getattr(record, "request_id", None):
            event["request_id"] = record.request_id
        for name in ("method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                event[name] = getattr(record, name)
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def log_format() -> str:
    value = os.environ.get(FORMAT_VAR, "text").strip().lower() or "text"
    if value not in FORMATS:
        from core.errors import ConfigError

        raise ConfigError(f"${FORMAT_VAR}={value!r}: expected one of {', '.join(FORMATS)}")
    return value


def dagster_environment() -> dict[str, str]:
    """Environment for the Dagster processes org360 starts (code servers, run workers),
    so their lines come out in the same format: Dagster's CLI reads its options from
    `DAGSTER_CLI_*` variables."""
    return {"DAGSTER_CLI_API_GRPC_LOG_FORMAT": "json"} if log_format() == "json" else {}


def configure() -> None:
    """Every logger of this process to standard output, one line per event."""
    os.environ.update(dagster_environment())
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format() == "json" else TextFormatter())
    handler.addFilter(_RequestId())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get(LEVEL_VAR, "INFO").strip().upper() or "INFO")
    # Uvicorn's own handlers would print a second, differently shaped line; its
    # access log is replaced by org360's, which carries the request id.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Dagster's storage sets up its schema migrations with alembic, which announces
    # each of its plugins.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # What Python would print to stderr on its own (an uncaught exception, one in a
    # thread, one it can only ignore, as in an exit handler) is an event too.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    sys.unraisablehook = lambda args: _log_uncaught(
        args.exc_type,
        args.exc_value,
        args.exc_traceback,
        f"{args.err_msg or 'Exception ignored in'}: {args.object!r}",
    )


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    # A thread that calls sys.exit() ends quietly, as Python's own hook has it.
    if not issubclass(args.exc_type, SystemExit):
        thread = args.thread.name if args.thread else "?"
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback, f"in thread {thread}")


def _log_uncaught(exc_type, exc_value, exc_traceback, where: str = "uncaught") -> None:
    logging.getLogger("org360").error(
        "%s: %s", where, exc_type.__name__, exc_info=(exc_type, exc_value, exc_traceback)
    )
