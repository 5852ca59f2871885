"""Who may log in, and the sessions logins hand out: users (password + security token),
connected apps (JWT bearer with a registered key or certificate, client credentials) and
Bearer sessions, which die when `Faults.expire_sessions` moves the org's session epoch."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from salesforce_standin.org import StandinOrg


@dataclass
class User:
    username: str
    password: str
    security_token: str
    user_id: str


@dataclass
class JwtClient:
    consumer_key: str
    public_key: Any
    username: str


@dataclass
class Session:
    token: str
    username: str
    user_id: str
    epoch: int
    created: datetime


class AuthState:
    """Registered users and connected apps, and live sessions. Usernames are
    case-insensitive, as in Salesforce."""

    def __init__(self, org: StandinOrg) -> None:
        self._org = org
        self._lock = threading.Lock()
        self.users: dict[str, User] = {}
        self.jwt_clients: dict[str, JwtClient] = {}
        self.secret_clients: dict[str, tuple[str, str | None]] = {}
        self.sessions: dict[str, Session] = {}

    def add_user(self, username: str, password: str, security_token: str = "") -> str:
        user_id = self._org.new_id("005")
        with self._lock:
            self.users[username.lower()] = User(username, password, security_token, user_id)
        return user_id

    def add_jwt_client(
        self, consumer_key: str, public_key_pem_or_cert: str | bytes, username: str
    ) -> None:
        pem = (
            public_key_pem_or_cert.encode()
            if isinstance(public_key_pem_or_cert, str)
            else public_key_pem_or_cert
        )
        if b"CERTIFICATE" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = load_pem_public_key(pem)
        with self._lock:
            self.jwt_clients[consumer_key] = JwtClient(consumer_key, key, username)

    def add_client_credentials(
        self, consumer_key: str, consumer_secret: str, username: str | None = None
    ) -> None:
        """A connected app with the client-credentials flow; it runs as `username` (an
        integration user made up on the spot when None)."""
        with self._lock:
            self.secret_clients[consumer_key] = (consumer_secret, username)

    def user_for(self, username: str | None) -> User:
        """The registered user, or one made up on the spot (a connected app's run-as
        user need not have a password)."""
        name = username or "integration@standin.invalid"
        with self._lock:
            user = self.users.get(name.lower())
            if user is None:
                user = User(name, secrets.token_urlsafe(16), "", self._org.new_id("005"))
                self.users[name.lower()] = user
            return user

    def new_session(self, user: User) -> str:
        org = self._org
        token = f"{org.org_id[:15]}!{secrets.token_urlsafe(72)}"
        with self._lock:
            self.sessions[token] = Session(
                token, user.username, user.user_id, org.faults.session_epoch, org.now()
            )
        return token

    def check(self, authorization: str | None) -> Session | None:
        """The live session an Authorization header names, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        with self._lock:
            session = self.sessions.get(token.strip())
            if session is None:
                return None
            if session.epoch < self._org.faults.session_epoch:
                del self.sessions[session.token]
                return None
            return session

    def password_user(self, username: str, password: str) -> User | None:
        user = self.users.get(username.lower())
        if user is None:
            return None
        given = password.encode()
        if secrets.compare_digest(given, (user.password + user.security_token).encode()):
            return user
        if not user.security_token and secrets.compare_digest(given, user.password.encode()):
            return user
        return None
