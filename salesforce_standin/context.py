"""What the request handlers share: the org, logins, jobs, query cursors, the request log
and the server's own URLs. One per server; handlers reach it as `request.app.state.ctx`.
"""

from __future__ import annotations

import secrets
import threading
from typing import NamedTuple

from salesforce_standin.jobs import BulkJobs, Cursors
from salesforce_standin.org import StandinOrg
from salesforce_standin.sessions import AuthState


class RequestRecord(NamedTuple):
    """One request as the server saw it: `query` is the raw query string."""

    method: str
    path: str
    query: str


class ServerContext:
    def __init__(self, org: StandinOrg, login_url: str | None = None) -> None:
        self.org = org
        self.base_url = ""  # set once the port is known
        self._login_url = login_url
        self.admin_token = secrets.token_urlsafe(24)
        self.requests: list[RequestRecord] = []
        self.requests_lock = threading.Lock()
        self.auth = AuthState(org)
        self.jobs = BulkJobs()
        self.cursors = Cursors()

    @property
    def login_url(self) -> str:
        """The URL JWT assertions must name as `aud` (default: the server's own)."""
        return (self._login_url or self.base_url).rstrip("/")

    def log(self, method: str, path: str, query: str) -> None:
        with self.requests_lock:
            self.requests.append(RequestRecord(method, path, query))
