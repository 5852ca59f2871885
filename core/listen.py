"""Where a server listens, by one rule for every org360 server."""

from __future__ import annotations

import os

from core.errors import ConfigError

DEFAULT_PORT = 8360
LOCAL_HOST = "127.0.0.1"


def listen_address(host: str | None, port: int | None) -> tuple[str, int]:
    """`--host` and `--port` when given. Otherwise `$PORT` on every interface (a platform
    router such as Heroku's sets $PORT and reaches the process from outside), else this
    machine alone on port 8360."""
    env_port = os.environ.get("PORT")
    if port is None:
        port = _port(env_port) if env_port else DEFAULT_PORT
    if host is None:
        host = "0.0.0.0" if env_port else LOCAL_HOST
    return host, port


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"$PORT must be a TCP port number, got {value!r}")
    return int(value)
