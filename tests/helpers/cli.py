"""Running org360's command line as a user does: in a subprocess, and `org360 serve`
on a free port until the test is done with it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
API_USER, API_PASSWORD = "salesforce", "s3cret-for-tests"
# The API's credentials for `serve`, and nothing else of the caller's ORG360_API_*.
API_ENV = {
    "ORG360_API_USER": API_USER,
    "ORG360_API_PASSWORD": API_PASSWORD,
    "ORG360_API_TOKENS": "",
    "ORG360_API_ANONYMOUS": "",
}


def org360(*args: str, env: dict | None = None, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env if env is not None else dict(os.environ),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(config: Path, env: dict | None = None) -> Iterator[str]:
    """`org360 serve --config config` on a free port; yields its base URL once it
    answers, and stops it (SIGTERM) afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--config", str(config)],
        env={**(env if env is not None else os.environ), **API_ENV},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/odata/", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "org360 serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=30)
