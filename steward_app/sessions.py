"""Signed-in sessions, kept in Postgres: the cookie holds a random token, the table its
SHA-256 (a stolen table signs nobody in), with the session's CSRF token and expiry.
Signing out deletes the row; so does a new password or role for the user."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, text

from steward_app.users import User

COOKIE = "org360_session"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf_token.encode())


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def open_session(engine: Engine, user: User) -> str:
    """A new session for `user`; the token for its cookie."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org360.web_session (token_sha256, email, csrf_token, expires_at) "
                "VALUES (:digest, :email, :csrf, now() + :lifetime)"
            ),
            {
                "digest": _digest(token),
                "email": user.email,
                "csrf": secrets.token_urlsafe(32),
                "lifetime": LIFETIME,
            },
        )
        conn.execute(text("DELETE FROM org360.web_session WHERE expires_at < now()"))
    return token


def find_session(engine: Engine, token: str | None) -> Session | None:
    """The live session this cookie's token opens, if any (its expiry slides)."""
    if not token or len(token) > 100:
        return None
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "UPDATE org360.web_session s SET last_seen_at = now(), "
                "expires_at = greatest(s.expires_at, now() + :lifetime / 2) "
                "FROM org360.web_user u WHERE s.token_sha256 = :digest "
                "AND s.expires_at > now() AND u.email = s.email "
                "RETURNING u.email, u.role, s.csrf_token"
            ),
            {"digest": _digest(token), "lifetime": LIFETIME},
        ).one_or_none()
    return Session(User(row.email, row.role), row.csrf_token) if row else None


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM org360.web_session WHERE token_sha256 = :digest"),
                {"digest": _digest(token)},
            )
