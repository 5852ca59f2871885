"""Running the stand-in: `StandinServer` serves an org over TLS from a background thread
of this process; `StandinProcess` runs `python -m salesforce_standin` as a subprocess and
drives it through the admin endpoints.
"""

from __future__ import annotations

import csv
import io
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import uvicorn

from salesforce_standin.context import RequestRecord, ServerContext
from salesforce_standin.org import StandinOrg
from salesforce_standin.server import build_app
from salesforce_standin.tls import Certificates


class _Uvicorn(uvicorn.Server):
    """uvicorn, minus the wait on a TLS goodbye at shutdown.

    Closing a TLS transport waits for the peer's close_notify; a client that has already
    dropped its socket never sends one, so uvicorn would wait out its graceful timeout and
    leave the transport for the garbage collector. The stand-in stops at the end of a
    test: abort the connections instead."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class StandinServer:
    """A stand-in Salesforce over HTTPS on 127.0.0.1, serving `org`.

    `login_url` is what JWT assertions must carry as `aud` (default: `url`)."""

    def __init__(
        self,
        org: StandinOrg,
        login_url: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.org = org
        self.host = host
        self.port = port
        self._ctx = ServerContext(org, login_url)
        self._certs = Certificates()
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    # -- what clients need --------------------------------------------------------------
    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT (once started)."""
        return f"https://{self.host}:{self.port}"

    @property
    def ca_path(self) -> str:
        """PEM of the throwaway CA: REQUESTS_CA_BUNDLE, or a requests Session's verify."""
        return str(self._certs.ca_path)

    @property
    def login_url(self) -> str:
        return self._ctx.login_url

    @property
    def admin_token(self) -> str:
        return self._ctx.admin_token

    @property
    def requests(self) -> list[RequestRecord]:
        """Requests seen so far (method, path, query), admin calls excepted."""
        with self._ctx.requests_lock:
            return list(self._ctx.requests)

    def reset_log(self) -> None:
        with self._ctx.requests_lock:
            self._ctx.requests.clear()

    # -- credentials --------------------------------------------------------------------
    def add_user(self, username: str, password: str, security_token: str = "") -> str:
        """A user for SOAP login (password + security token); returns the user id."""
        return self._ctx.auth.add_user(username, password, security_token)

    def add_jwt_client(
        self, consumer_key: str, public_key_pem_or_cert: str | bytes, username: str
    ) -> None:
        """A connected app for the JWT bearer flow, pre-authorised for `username`."""
        self._ctx.auth.add_jwt_client(consumer_key, public_key_pem_or_cert, username)

    def add_client_credentials(
        self, consumer_key: str, consumer_secret: str, username: str | None = None
    ) -> None:
        """A connected app for the client-credentials flow (and the password flow)."""
        self._ctx.auth.add_client_credentials(consumer_key, consumer_secret, username)

    def new_session(self, username: str) -> str:
        """A live session id for `username` without a login round trip (for tests and
        benchmarks that are not about logging in)."""
        return self._ctx.auth.new_session(self._ctx.auth.user_for(username))

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> StandinServer:
        """Serve from a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._ctx.base_url = self.url
        config = uvicorn.Config(
            build_app(self._ctx),
            ssl_certfile=str(self._certs.server_pem_path),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        server = _Uvicorn(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"salesforce-standin-{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the stand-in server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and delete the certificate files."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        self._certs.remove()

    def __enter__(self) -> StandinServer:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class StandinProcess:
    """`python -m salesforce_standin` in a subprocess, with helpers for its admin API.

    Use as a context manager, or call `start()`/`stop()`."""

    def __init__(
        self,
        *,
        user: str,
        password: str,
        token: str = "",
        multi_currency: bool = True,
        org_id: str | None = None,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "salesforce_standin",
            "--port",
            "0",
            "--user",
            user,
            "--password",
            password,
            "--token",
            token,
            "--multi-currency" if multi_currency else "--single-currency",
        ]
        if org_id:
            self.args += ["--org-id", org_id]
        self.args += list(extra_args)
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return str(self.info["url"])

    @property
    def ca_path(self) -> str:
        return str(self.info["ca_path"])

    @property
    def admin_token(self) -> str:
        return str(self.info["admin_token"])

    def start(self, timeout: float = 30.0) -> StandinProcess:
        env = {**os.environ, **(self.env or {})}
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError("the stand-in subprocess did not report that it was ready")
        self.info = json.loads(line)
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not gone within `timeout`; the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    def __enter__(self) -> StandinProcess:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- admin API ----------------------------------------------------------------------
    def admin(
        self,
        method: str,
        path: str,
        body: bytes | str | Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Call /__standin__/{path}; `body` is bytes/str as is, anything else as JSON."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(
            f"{self.url}/__standin__/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"X-Standin-Token": self.admin_token, "Content-Type": content_type},
        )
        context = ssl.create_default_context(cafile=self.ca_path)
        with urllib.request.urlopen(request, context=context, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def insert(self, object_name: str, rows: Sequence[dict[str, Any]]) -> list[str]:
        """Insert rows through the admin API (as CSV); returns the ids."""
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return list(
            self.admin("POST", f"records/{object_name}", buffer.getvalue(), "text/csv")["ids"]
        )

    def faults(self, **spec: Any) -> None:
        """Set faults: the keyword arguments are the JSON keys of Faults.apply."""
        self.admin("POST", "faults", spec)

    def requests(self) -> list[dict[str, str]]:
        return list(self.admin("GET", "requests"))
