"""The people who may sign in: e-mail, role, and an argon2 hash of the password.

Roles, each including the one before: `viewer` (search and read), `steward` (decide
pairs, undo), `admin` (also the Dagster UI).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, text

from core.errors import ConfigError

ROLES = ("viewer", "steward", "admin")
MIN_PASSWORD = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(ConfigError):
    """A user that cannot be added or removed; the message says why."""


@dataclass(frozen=True)
class User:
    email: str
    role: str
    created_at: datetime | None = None

    def may(self, role: str) -> bool:
        """Whether this user has `role` or one above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


def normal_email(email: str) -> str:
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    return value


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def add_user(engine: Engine, email: str, role: str, password: str) -> User:
    """Add a user, or change an existing one's role and password."""
    email = normal_email(email)
    if role not in ROLES:
        raise UserError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org360.web_user (email, password_hash, role) "
                "VALUES (:email, :hash, :role) ON CONFLICT (email) DO UPDATE SET "
                "password_hash = excluded.password_hash, role = excluded.role, updated_at = now()"
            ),
            {"email": email, "hash": _HASHER.hash(password), "role": role},
        )
        # A new password or role ends the sessions opened with the old ones.
        conn.execute(text("DELETE FROM org360.web_session WHERE email = :email"), {"email": email})
    return User(email, role)


def remove_user(engine: Engine, email: str) -> None:
    email = normal_email(email)
    with engine.begin() as conn:
        removed = conn.execute(
            text("DELETE FROM org360.web_user WHERE email = :email"), {"email": email}
        ).rowcount
    if not removed:
        raise UserError(f"no user {email}")


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT email, role, created_at FROM org360.web_user ORDER BY email")
        ).all()
    return [User(*row) for row in rows]


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user these credentials sign in, or None (same time either way)."""
    try:
        email = normal_email(email)
    except UserError:
        email = ""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, role, password_hash FROM org360.web_user WHERE email = :email"),
            {"email": email},
        ).one_or_none()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row.email, row.role) if row else None


def find_user(engine: Engine, email: str) -> User | None:
    """The user with this e-mail, if any (for sign-in by a trusted proxy's header)."""
    try:
        email = normal_email(email)
    except UserError:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT email, role, created_at FROM org360.web_user WHERE email = :email"),
            {"email": email},
        ).one_or_none()
    return User(*row) if row else None
