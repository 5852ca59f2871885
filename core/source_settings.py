"""How org360 reaches an org's records, and whether it writes golden ids back: the
`source`, `salesforce:` and `writeback:` entries of an org in `org360.yaml`.

An org is read from its Heroku Connect schema (`source: heroku_connect`, the
default) or through the Salesforce API (`source: salesforce`), whose extract writes
into an org360-owned schema laid out like Connect's. Credentials never appear in the
file: it names the environment variables that hold them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError

SOURCES = ("heroku_connect", "salesforce")
DEFAULT_API_VERSION = "59.0"
# Below this share of the day's API requests left, an extract stops before starting:
# the org's own integrations and users need the rest.
DEFAULT_RESERVE_SHARE = 0.2
DEFAULT_PAGE_SIZE = 100_000
# Hard deletions older than Salesforce's recycle-bin window (15 days) are found by
# reading every id; also done this often to catch anything missed.
DEFAULT_FULL_SWEEP_DAYS = 7

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_LOGIN_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?/?$")
_VERSION = re.compile(r"^\d{2}\.0$")
_CUSTOM_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")

# Each way of logging in and the entries it needs (all of them, and no other's).
AUTH_METHODS: dict[str, tuple[str, ...]] = {
    "password": ("username_env", "password_env", "security_token_env"),
    "jwt": ("username_env", "consumer_key_env", "private_key_file"),
    "client_credentials": ("client_id_env", "client_secret_env"),
}
_CREDENTIAL_KEYS = {k for keys in AUTH_METHODS.values() for k in keys}
_SECRET_KEYS = {
    "username",
    "password",
    "security_token",
    "token",
    "consumer_key",
    "consumer_secret",
    "client_id",
    "client_secret",
    "private_key",
    "session_id",
}
_OTHER_KEYS = {
    "domain",
    "login_url",
    "api_version",
    "reserve_api_share",
    "page_size",
    "full_sweep_days",
}


@dataclass(frozen=True)
class SalesforceSettings:
    """Where an org is and how org360 logs in to it (names of variables, not secrets)."""

    auth: str
    # simple-salesforce's meaning: login, test, or a My Domain such as acme.my.
    domain: str = "login"
    # Where to log in instead of https://<domain>.salesforce.com: a proxy, a test
    # server. Always https.
    login_url: str | None = None
    api_version: str = DEFAULT_API_VERSION
    username_env: str | None = None
    password_env: str | None = None
    security_token_env: str | None = None
    consumer_key_env: str | None = None
    private_key_file: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    reserve_api_share: float = DEFAULT_RESERVE_SHARE
    page_size: int = DEFAULT_PAGE_SIZE
    full_sweep_days: int = DEFAULT_FULL_SWEEP_DAYS

    @property
    def base_login_url(self) -> str:
        return (self.login_url or f"https://{self.domain}.salesforce.com").rstrip("/")


@dataclass(frozen=True)
class WritebackSettings:
    """The custom field (External ID) each source record's golden id is written to."""

    field: str

    @property
    def column(self) -> str:
        """Its Heroku Connect column (lower-case API name)."""
        return self.field.lower()


def parse_source(raw: Any, where: str) -> str:
    source = "heroku_connect" if raw is None else raw
    if source not in SOURCES:
        raise ConfigError(f"{where}: source must be one of {', '.join(SOURCES)}, got {raw!r}")
    return source


def parse_salesforce(raw: Any, source: str, where: str) -> SalesforceSettings | None:
    if source != "salesforce":
        if raw is not None:
            raise ConfigError(
                f"{where}: a salesforce: block needs source: salesforce "
                "(this org is read from its Heroku Connect schema)"
            )
        return None
    where = f"{where}: salesforce"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: source: salesforce needs a salesforce: block with domain and the "
            "names of the environment variables holding the credentials "
            "(username_env, password_env, security_token_env; or username_env, "
            "consumer_key_env, private_key_file; or client_id_env, client_secret_env)"
        )
    secrets = sorted(set(raw) & _SECRET_KEYS)
    if secrets:
        raise ConfigError(
            f"{where}: {', '.join(secrets)} must not be in the config file: put each in an "
            f"environment variable and name it, e.g. {secrets[0]}_env: SF_EMEA_"
            f"{secrets[0].upper()}"
        )
    unknown = set(raw) - _CREDENTIAL_KEYS - _OTHER_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; expected "
            + ", ".join(sorted(_CREDENTIAL_KEYS | _OTHER_KEYS))
        )
    auth = _auth_method(raw, where)
    for key in AUTH_METHODS[auth]:
        value = raw[key]
        if key == "private_key_file":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: private_key_file must be a file path")
        elif not isinstance(value, str) or not _ENV_NAME.match(value):
            raise ConfigError(
                f"{where}: {key} must name an environment variable (A-Z, 0-9, _), got {value!r}"
            )
    return SalesforceSettings(
        auth=auth,
        domain=_domain(raw.get("domain", "login"), where),
        login_url=_login_url(raw.get("login_url"), where),
        api_version=_api_version(raw.get("api_version", DEFAULT_API_VERSION), where),
        reserve_api_share=_share(raw.get("reserve_api_share", DEFAULT_RESERVE_SHARE), where),
        page_size=_whole(
            raw.get("page_size", DEFAULT_PAGE_SIZE), "page_size", 1, 10_000_000, where
        ),
        full_sweep_days=_whole(
            raw.get("full_sweep_days", DEFAULT_FULL_SWEEP_DAYS), "full_sweep_days", 1, 365, where
        ),
        **{key: raw[key] for key in AUTH_METHODS[auth]},
    )


def parse_writeback(raw: Any, where: str) -> WritebackSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"field"}:
        raise ConfigError(
            f"{where}: writeback must be a mapping with one entry, field, e.g. "
            "{field: Org360_Golden_Id__c}"
        )
    field = raw["field"]
    if not isinstance(field, str) or not _CUSTOM_FIELD.match(field):
        raise ConfigError(
            f"{where}: writeback.field must be the API name of a custom field "
            f"(ending in __c), e.g. Org360_Golden_Id__c; got {field!r}"
        )
    return WritebackSettings(field=field)


def _auth_method(raw: dict, where: str) -> str:
    given = set(raw) & _CREDENTIAL_KEYS
    complete = [m for m, keys in AUTH_METHODS.items() if set(keys) == given]
    if complete:
        return complete[0]
    options = "; or ".join(", ".join(keys) for keys in AUTH_METHODS.values())
    found = ", ".join(sorted(given)) or "none"
    raise ConfigError(
        f"{where}: name the credentials of exactly one way of logging in: {options} "
        f"(found: {found})"
    )


def _domain(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not _DOMAIN.match(raw) or raw.endswith("salesforce.com"):
        raise ConfigError(
            f"{where}: domain must be login, test or a My Domain such as acme.my "
            f"(the org lives at https://<domain>.salesforce.com), got {raw!r}"
        )
    return raw


def _login_url(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not _LOGIN_URL.match(raw):
        raise ConfigError(
            f"{where}: login_url must be an https address such as https://login.example.com, "
            f"got {raw!r}"
        )
    return raw.rstrip("/")


def _api_version(raw: Any, where: str) -> str:
    text = str(raw)
    if not _VERSION.match(text):
        raise ConfigError(f"{where}: api_version must look like 59.0, got {raw!r}")
    return text


def _share(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < 1:
        raise ConfigError(
            f"{where}: reserve_api_share must be a fraction from 0 to below 1 (the share of "
            f"the day's API requests org360 leaves to others), got {raw!r}"
        )
    return float(raw)


def _whole(raw: Any, name: str, low: int, high: int, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise ConfigError(f"{where}: {name} must be a whole number from {low} to {high}")
    return raw
