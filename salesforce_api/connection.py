"""A logged-in connection to one org through simple-salesforce, and the rules every
call follows: an expired session logs in again once, Salesforce being unavailable or
over its request limit is waited out with growing pauses, a dropped connection is
retried, and whatever still fails is one error naming the org and what Salesforce
said, never a credential.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import jwt
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceRefusedRequest,
)
from simple_salesforce.login import SalesforceLogin, token_login

from core.settings import OrgSettings
from core.source_settings import SalesforceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

# Pauses between attempts grow from this many seconds (doubling, at most a minute);
# the variable shortens them where waiting is pointless (tests against a stand-in).
BACKOFF_VAR = "ORG360_SALESFORCE_BACKOFF_SECONDS"
DEFAULT_BACKOFF_SECONDS = 2.0
MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 120


class SalesforceSourceError(RuntimeError):
    """Reading or writing an org through the API failed; the message says which org,
    what org360 was doing and what Salesforce answered."""


class ApiBudgetExhausted(SalesforceSourceError):
    """Too few of the day's API requests are left to read the org."""


@dataclass(frozen=True)
class ApiUsage:
    maximum: int
    remaining: int

    @property
    def share_left(self) -> float:
        return self.remaining / self.maximum if self.maximum else 0.0


def _backoff_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(BACKOFF_VAR, DEFAULT_BACKOFF_SECONDS)))
    except ValueError:
        return DEFAULT_BACKOFF_SECONDS


def _error_code(exc: SalesforceError) -> str | None:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode")
    if isinstance(content, dict):
        return content.get("errorCode")
    return None


def salesforce_message(exc: BaseException) -> str:
    """What Salesforce said, without the request's headers (which hold the session)."""
    if isinstance(exc, SalesforceAuthenticationFailed):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, SalesforceError):
        content = exc.content
        if isinstance(content, list) and content and isinstance(content[0], dict):
            return "; ".join(f"{c.get('errorCode')}: {c.get('message')}" for c in content)
        return f"HTTP {exc.status}: {str(content)[:300]}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return True  # includes a connection dropped in the middle of a body
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    if isinstance(exc, SalesforceRefusedRequest):
        return _error_code(exc) == "REQUEST_LIMIT_EXCEEDED"
    if isinstance(exc, SalesforceError):
        return exc.status in (502, 503, 504)
    return False


class OrgConnection:
    """One org's API session, logged in on first use and shared by the calls of a run."""

    def __init__(self, org: OrgSettings, environ: Mapping[str, str] | None = None) -> None:
        if org.salesforce is None:
            raise ValueError(f"org {org.key!r} is not read through the Salesforce API")
        self.org = org
        self.settings: SalesforceSettings = org.salesforce
        self._environ = environ if environ is not None else os.environ
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self._sobjects: dict[str, str] | None = None
        self._unreplicable: set[str] = set()
        self.logins = 0

    # -- logging in -------------------------------------------------------------------

    def _secret(self, entry: str) -> str:
        name = getattr(self.settings, entry)
        value = self._environ.get(name)
        if not value:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: environment variable {name} (named by "
                f"salesforce.{entry} in the config) is not set"
            )
        return value

    def _session(self) -> requests.Session:
        # requests trusts $REQUESTS_CA_BUNDLE (a private CA) and always verifies.
        session = requests.Session()
        session.headers["User-Agent"] = "org360"
        return session

    def _login(self) -> Salesforce:
        s = self.settings
        session = self._session()
        try:
            if s.auth == "password":
                session_id, instance = SalesforceLogin(
                    username=self._secret("username_env"),
                    password=self._secret("password_env"),
                    security_token=self._secret("security_token_env"),
                    sf_version=s.api_version,
                    session=session,
                    domain=s.domain,
                    scratch_url=s.login_url,
                )
            elif s.auth == "jwt":
                session_id, instance = self._jwt_login(session)
            else:
                session_id, instance = self._client_credentials_login(session)
        except SalesforceAuthenticationFailed as exc:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: logging in at {s.base_login_url} failed: "
                f"{salesforce_message(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: cannot reach {s.base_login_url} to log in "
                f"({type(exc).__name__}); check salesforce.domain and the network"
            ) from None
        self.logins += 1
        log.info("org %r: logged in to Salesforce at %s", self.org.key, instance)
        return Salesforce(
            instance=instance, session_id=session_id, session=session, version=s.api_version
        )

    def _jwt_login(self, session: requests.Session) -> tuple[str, str]:
        s = self.settings
        path = Path(s.private_key_file or "")
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: cannot read salesforce.private_key_file {path}: "
                f"{exc.strerror}"
            ) from None
        consumer_key = self._secret("consumer_key_env")
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
        claims = {
            "iss": consumer_key,
            "sub": self._secret("username_env"),
            "aud": s.base_login_url,
            "exp": int(expires.timestamp()),
        }
        try:
            assertion = jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError) as exc:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: salesforce.private_key_file {path} is not an RSA "
                f"private key in PEM form ({type(exc).__name__})"
            ) from None
        return token_login(
            f"{s.base_login_url}/services/oauth2/token",
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            s.domain,
            consumer_key,
            None,
            None,
            session,
        )

    def _client_credentials_login(self, session: requests.Session) -> tuple[str, str]:
        s = self.settings
        client_id = self._secret("client_id_env")
        session.auth = (client_id, self._secret("client_secret_env"))
        try:
            return token_login(
                f"{s.base_login_url}/services/oauth2/token",
                {"grant_type": "client_credentials"},
                s.domain,
                client_id,
                None,
                None,
                session,
            )
        finally:
            session.auth = None  # the API calls carry the session id, not the secret

    @property
    def sf(self) -> Salesforce:
        with self._lock:
            if self._sf is None:
                self._sf = self._login()
            return self._sf

    def _relogin(self, stale: Salesforce) -> None:
        with self._lock:
            if self._sf is stale:
                self._sf = self._login()

    # -- calling ------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """`fn(sf)` with Salesforce's transient failures handled; `what` says, in the
        error, what org360 was doing."""
        logged_in_again = False
        attempt = 0
        while True:
            sf = self.sf
            try:
                return fn(sf)
            except SalesforceExpiredSession:
                if logged_in_again:
                    raise SalesforceSourceError(
                        f"org {self.org.key!r}: {what}: the session expired again right "
                        "after logging in"
                    ) from None
                log.info("org %r: session expired; logging in again", self.org.key)
                self._relogin(sf)
                logged_in_again = True
            except (SalesforceError, requests.RequestException) as exc:
                attempt += 1
                if not _retryable(exc) or attempt >= MAX_ATTEMPTS:
                    tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                    raise SalesforceSourceError(
                        f"org {self.org.key!r}: {what} failed{tries}: {salesforce_message(exc)}"
                    ) from None
                pause = min(60.0, _backoff_seconds() * 2 ** (attempt - 1))
                log.warning(
                    "org %r: %s: %s; trying again in %.1f s",
                    self.org.key,
                    what,
                    salesforce_message(exc),
                    pause,
                )
                time.sleep(pause)

    def sobjects(self) -> dict[str, str]:
        """Lower-case name -> API name of every object the integration user can query."""
        if self._sobjects is None:
            described = self.call("listing the org's objects", lambda sf: sf.describe())
            queryable = [o for o in described.get("sobjects", []) if o.get("queryable", True)]
            self._sobjects = {o["name"].lower(): o["name"] for o in queryable}
            self._unreplicable = {
                o["name"].lower() for o in queryable if not o.get("replicateable", True)
            }
        return self._sobjects

    def lists_deletions(self, table: str) -> bool:
        """Whether Salesforce's `deleted` resource answers for the object (replicable)."""
        self.sobjects()
        return table not in self._unreplicable

    def sobject_name(self, table: str) -> str:
        name = self.sobjects().get(table)
        if name is None:
            raise SalesforceSourceError(
                f"org {self.org.key!r}: no object {table!r} the integration user can query"
            )
        return name

    def usage(self) -> ApiUsage:
        limits = self.call("reading /limits", lambda sf: sf.limits())
        daily = limits.get("DailyApiRequests") or {}
        return ApiUsage(maximum=int(daily.get("Max", 0)), remaining=int(daily.get("Remaining", 0)))

    def check_budget(self) -> ApiUsage:
        """Stop before reading when less than the configured share of the day's API
        requests is left."""
        usage = self.usage()
        reserve = self.settings.reserve_api_share
        if usage.maximum and usage.share_left < reserve:
            raise ApiBudgetExhausted(
                f"org {self.org.key!r}: {usage.remaining:,} of {usage.maximum:,} daily API "
                f"requests left ({usage.share_left:.1%}), below the {reserve:.0%} org360 "
                "leaves to the org's other users (salesforce.reserve_api_share); nothing was "
                "read and the org's records stay as they were"
            )
        return usage


_connections: dict[tuple, OrgConnection] = {}
_connections_lock = threading.Lock()


def connection_for(org: OrgSettings) -> OrgConnection:
    """The process's connection to `org` (one login serves every object of a run)."""
    key = (org.key, org.salesforce)
    with _connections_lock:
        if key not in _connections:
            _connections[key] = OrgConnection(org)
        connection = _connections[key]
        # Same org and credentials; the rest of its settings may have changed since.
        connection.org = org
        return connection


def forget_connections() -> None:
    with _connections_lock:
        _connections.clear()
