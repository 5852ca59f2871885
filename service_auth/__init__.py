"""Authentication shared by org360's HTTP services (OData, archive API).

Salesforce sends credentials from a Named Credential: HTTP Basic (a named
principal with a password) or a bearer token. Credentials come from the
environment; anonymous access must be switched on explicitly.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

USER_VAR = "ORG360_API_USER"
PASSWORD_VAR = "ORG360_API_PASSWORD"
TOKENS_VAR = "ORG360_API_TOKENS"
ANONYMOUS_VAR = "ORG360_API_ANONYMOUS"


class AuthConfigError(ValueError):
    """The service has no usable credentials configured."""


@dataclass(frozen=True)
class ApiCredentials:
    user: str | None = None
    password: str | None = None
    tokens: frozenset[str] = field(default_factory=frozenset)
    allow_anonymous: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiCredentials:
        env = os.environ if environ is None else environ
        tokens = frozenset(t.strip() for t in env.get(TOKENS_VAR, "").split(",") if t.strip())
        anonymous = env.get(ANONYMOUS_VAR, "").strip().lower() in {"1", "true", "yes"}
        return cls(
            user=env.get(USER_VAR) or None,
            password=env.get(PASSWORD_VAR) or None,
            tokens=tokens,
            allow_anonymous=anonymous,
        )

    def validate(self) -> None:
        """Refuse to serve when nobody could ever authenticate (and anonymous is off)."""
        if self.allow_anonymous:
            return
        if bool(self.user) != bool(self.password):
            raise AuthConfigError(f"set both {USER_VAR} and {PASSWORD_VAR}, or neither")
        if not (self.user and self.password) and not self.tokens:
            raise AuthConfigError(
                f"no credentials configured: set {USER_VAR} and {PASSWORD_VAR} (HTTP Basic) "
                f"and/or {TOKENS_VAR} (comma-separated bearer tokens), or {ANONYMOUS_VAR}=1 "
                "to allow anonymous access"
            )

    def accepts(self, authorization: str | None) -> bool:
        if self.allow_anonymous:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and self.tokens:
            # Compare against every token so timing does not reveal which one matched.
            matches = [hmac.compare_digest(value.encode(), t.encode()) for t in self.tokens]
            return any(matches)
        if scheme == "basic" and self.user and self.password:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, sep, password = decoded.partition(":")
            if not sep:
                return False
            user_ok = hmac.compare_digest(user.encode(), self.user.encode())
            password_ok = hmac.compare_digest(password.encode(), self.password.encode())
            return user_ok and password_ok
        return False


ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


class RequireAuth:
    """ASGI middleware: 401 for HTTP requests without valid credentials.

    `unauthorised_body` renders the error in the service's own format (OData error
    JSON, or the archive API's), so clients see one error shape per service.
    `open_paths` are reachable without credentials (e.g. a health check).
    """

    def __init__(
        self,
        app: ASGIApp,
        credentials: ApiCredentials,
        unauthorised_body: Callable[[str], tuple[bytes, str]],
        open_paths: frozenset[str] = frozenset(),
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.unauthorised_body = unauthorised_body
        self.open_paths = open_paths
        self.extra_headers = extra_headers or []

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        if self.credentials.accepts(authorization):
            await self.app(scope, receive, send)
            return
        message = (
            "authentication required: send HTTP Basic credentials or a bearer token"
            if not authorization
            else "invalid credentials"
        )
        body, content_type = self.unauthorised_body(message)
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Basic realm="org360", charset="UTF-8"'),
                    *self.extra_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
