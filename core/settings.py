"""org360's configuration file (`org360.yaml`): loading and validation.

Everything a user can get wrong here gets an error that names the file, the
entry and what was expected; nothing reads this file at import time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.catalogue import FIELDS, OBJECTS
from core.errors import ConfigError
from core.source_settings import (
    SalesforceSettings,
    WritebackSettings,
    parse_salesforce,
    parse_source,
    parse_writeback,
)

DEFAULT_CONFIG_PATH = Path("org360.yaml")
ORG_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
DEFAULT_SCHEDULE = "0 * * * *"


@dataclass(frozen=True)
class OrgSettings:
    key: str
    schema: str
    priority: int
    # object -> unified field -> source column
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    # The currency of an org without multiple currencies (no currencyisocode columns).
    currency: str | None = None
    # The org's opportunity stage names -> the shared funnel's stages.
    stages: dict[str, str] = field(default_factory=dict)
    # Where the org's users open a record (https://acme.my.salesforce.com): the web
    # app links each source record to <instance_url>/<sfid>.
    instance_url: str | None = None
    # heroku_connect: `schema` is the org's Connect schema. salesforce: org360 reads
    # the org through the API (`salesforce`) into `schema`, laid out like Connect's.
    source: str = "heroku_connect"
    salesforce: SalesforceSettings | None = None
    # Write each record's golden id into this field of the org.
    writeback: WritebackSettings | None = None

    @property
    def through_api(self) -> bool:
        return self.source == "salesforce"

    def field_overrides(self, obj: str) -> dict[str, str]:
        return self.fields.get(obj, {})


@dataclass(frozen=True)
class RetentionPolicy:
    """Archive `object` rows of `org` not modified for `older_than_days` (and matching `where`)."""

    org: str
    object: str
    older_than_days: int
    where: dict[str, Any] = field(default_factory=dict)


_TOP_LEVEL_KEYS = (
    "database_url",
    "orgs",
    "schedule",
    "retention",
    "compare_shards",
    "reporting_currency",
    "main_org",
)
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
DEFAULT_REPORTING_CURRENCY = "EUR"
DEFAULT_COMPARE_SHARDS = 4


@dataclass(frozen=True)
class Settings:
    orgs: tuple[OrgSettings, ...]
    database_url: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    retention: tuple[RetentionPolicy, ...] = ()
    # Candidate pairs are scored in this many shards, each a step of its own that an
    # executor may run on another core or machine (see pipelines/executors.py).
    compare_shards: int = DEFAULT_COMPARE_SHARDS
    # The one currency cross-org amounts are reported in (ISO 4217).
    reporting_currency: str = DEFAULT_REPORTING_CURRENCY
    # The org Salesforce Connect shows the 360 view in: each golden record carries
    # the sfid of its best member there (`main_org_sfid`), for lookups on its records.
    main_org: str | None = None
    source: str = "<defaults>"

    def org(self, key: str) -> OrgSettings:
        for org in self.orgs:
            if org.key == key:
                return org
        known = ", ".join(o.key for o in self.orgs) or "none"
        raise ConfigError(f"{self.source}: unknown org {key!r} (configured orgs: {known})")

    @property
    def org_keys(self) -> list[str]:
        return [o.key for o in self.orgs]


CONFIG_TEXT_VAR = "ORG360_CONFIG_YAML"


def config_from_environment(home: Path) -> Path | None:
    """On platforms configured by environment variables (Heroku's config vars) the
    config can be the text of `$ORG360_CONFIG_YAML`: written to `home/org360.yaml`
    and named by `$ORG360_CONFIG` for this process and those it starts, unless
    `$ORG360_CONFIG` names a file already. Returns the file written, if any."""
    text = os.environ.get(CONFIG_TEXT_VAR, "").strip()
    if not text or os.environ.get("ORG360_CONFIG"):
        return None
    home.mkdir(parents=True, exist_ok=True)
    path = home / "org360.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    os.environ["ORG360_CONFIG"] = str(path)
    return path


def config_path_from_env() -> Path:
    return Path(os.environ.get("ORG360_CONFIG", str(DEFAULT_CONFIG_PATH)))


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate a config file (default: `$ORG360_CONFIG`, else `./org360.yaml`)."""
    path = Path(path) if path is not None else config_path_from_env()
    if not path.exists():
        raise ConfigError(
            f"config file {path} not found: create it (see README, 'Point org360 at your orgs') "
            "or pass --config PATH"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_settings(raw, source=str(path))


def parse_settings(raw: Any, source: str = "<config>") -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with an 'orgs' list at the top level")
    unknown = set(raw) - set(_TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key(s) {sorted(unknown)}; "
            f"expected {', '.join(_TOP_LEVEL_KEYS)}"
        )
    database_url = raw.get("database_url")
    if database_url is not None and not isinstance(database_url, str):
        raise ConfigError(f"{source}: database_url must be a string URL")
    schedule = raw.get("schedule", DEFAULT_SCHEDULE)
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        raise ConfigError(
            f"{source}: schedule must be a cron string with 5 fields, e.g. '0 * * * *'"
        )
    shards = raw.get("compare_shards", DEFAULT_COMPARE_SHARDS)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 256:
        raise ConfigError(
            f"{source}: compare_shards must be a whole number from 1 to 256, got {shards!r}"
        )
    reporting = raw.get("reporting_currency", DEFAULT_REPORTING_CURRENCY)
    if not isinstance(reporting, str) or not CURRENCY_PATTERN.match(reporting):
        raise ConfigError(
            f"{source}: reporting_currency must be an ISO 4217 code such as EUR, got {reporting!r}"
        )
    orgs = _parse_orgs(raw.get("orgs"), source)
    main_org = raw.get("main_org")
    if main_org is not None and main_org not in [o.key for o in orgs]:
        raise ConfigError(
            f"{source}: main_org must be the key of one of the orgs ("
            + ", ".join(o.key for o in orgs)
            + f"), got {main_org!r}"
        )
    retention = _parse_retention(raw.get("retention") or [], orgs, source)
    return Settings(
        reporting_currency=reporting,
        main_org=main_org,
        orgs=orgs,
        database_url=database_url,
        schedule=schedule,
        retention=retention,
        compare_shards=shards,
        source=source,
    )


def _parse_orgs(raw_orgs: Any, source: str) -> tuple[OrgSettings, ...]:
    if not isinstance(raw_orgs, list) or not raw_orgs:
        raise ConfigError(f"{source}: 'orgs' must be a non-empty list of orgs")
    orgs: list[OrgSettings] = []
    seen_keys: set[str] = set()
    seen_schemas: set[str] = set()
    for index, entry in enumerate(raw_orgs):
        where = f"{source}: orgs[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with key and schema")
        unknown = set(entry) - {
            "key",
            "schema",
            "priority",
            "fields",
            "currency",
            "stages",
            "instance_url",
            "source",
            "salesforce",
            "writeback",
        }
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {sorted(unknown)}; expected key, schema, priority, "
                "fields, currency, stages, instance_url, source, salesforce, writeback"
            )
        key = entry.get("key")
        if not isinstance(key, str) or not ORG_KEY_PATTERN.match(key) or len(key) > 40:
            raise ConfigError(
                f"{where}: key {key!r} must match [a-z][a-z0-9_]* (at most 40 characters)"
            )
        if key in seen_keys:
            raise ConfigError(f"{where}: duplicate org key {key!r}")
        where = f"{source}: org {key!r}"
        schema = entry.get("schema")
        if not isinstance(schema, str) or not IDENTIFIER_PATTERN.match(schema):
            raise ConfigError(f"{where}: schema {schema!r} must be a Postgres schema name")
        if schema in seen_schemas:
            raise ConfigError(f"{where}: schema {schema!r} is already used by another org")
        priority = entry.get("priority", index + 1)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ConfigError(f"{where}: priority must be an integer (lower wins)")
        source = parse_source(entry.get("source"), where)
        orgs.append(
            OrgSettings(
                key=key,
                schema=schema,
                priority=priority,
                fields=_parse_fields(entry.get("fields") or {}, where),
                currency=_parse_currency(entry.get("currency"), where),
                stages=_parse_stages(entry.get("stages") or {}, where),
                instance_url=_parse_instance_url(entry.get("instance_url"), where),
                source=source,
                salesforce=parse_salesforce(entry.get("salesforce"), source, where),
                writeback=parse_writeback(entry.get("writeback"), where),
            )
        )
        seen_keys.add(key)
        seen_schemas.add(schema)
    return tuple(orgs)


def _parse_instance_url(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not re.match(r"^https://[A-Za-z0-9.-]+(:\d+)?/?$", raw):
        raise ConfigError(
            f"{where}: instance_url {raw!r} must be the org's https address, "
            "e.g. https://acme.my.salesforce.com"
        )
    return raw.rstrip("/")


def _parse_currency(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not CURRENCY_PATTERN.match(raw):
        raise ConfigError(
            f"{where}: currency must be an ISO 4217 code such as USD (the org's one currency), "
            f"got {raw!r}"
        )
    return raw


def _parse_stages(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
        for k, v in raw.items()
    ):
        raise ConfigError(
            f"{where}: stages must map the org's stage names to the shared funnel's, "
            "e.g. {'Negotiation/Review': 'Negotiate'}"
        )
    return {str(k): str(v) for k, v in raw.items()}


def _parse_fields(raw_fields: Any, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw_fields, dict):
        raise ConfigError(f"{where}: fields must map object -> {{unified field: source column}}")
    parsed: dict[str, dict[str, str]] = {}
    for obj, mapping in raw_fields.items():
        if obj not in OBJECTS:
            raise ConfigError(f"{where}: fields: unknown object {obj!r}; expected one of {OBJECTS}")
        if not isinstance(mapping, dict):
            raise ConfigError(f"{where}: fields.{obj} must map unified field -> source column")
        allowed = FIELDS[obj]
        for unified, column in mapping.items():
            if unified not in allowed:
                raise ConfigError(
                    f"{where}: fields.{obj}: unknown unified field {unified!r}; "
                    f"expected one of {', '.join(allowed)}"
                )
            if not isinstance(column, str) or not IDENTIFIER_PATTERN.match(column):
                raise ConfigError(
                    f"{where}: fields.{obj}.{unified}: {column!r} is not a column name"
                )
        parsed[obj] = {str(k): str(v).lower() for k, v in mapping.items()}
    return parsed


def _parse_retention(
    raw: Any, orgs: tuple[OrgSettings, ...], source: str
) -> tuple[RetentionPolicy, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: retention must be a list of policies")
    keys = {o.key for o in orgs}
    through_api = {o.key for o in orgs if o.through_api}
    policies = []
    for index, entry in enumerate(raw):
        where = f"{source}: retention[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with org, object, older_than_days")
        unknown = set(entry) - {"org", "object", "older_than_days", "where"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
        org = entry.get("org")
        if org not in keys:
            raise ConfigError(f"{where}: unknown org {org!r}; configured: {sorted(keys)}")
        if org in through_api:
            raise ConfigError(
                f"{where}: org {org!r} is read through the Salesforce API; archiving moves "
                "records between Heroku Connect tables, so it needs an org synced by Connect"
            )
        obj = entry.get("object")
        if obj not in OBJECTS:
            raise ConfigError(f"{where}: object {obj!r} must be one of {OBJECTS}")
        days = entry.get("older_than_days")
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ConfigError(f"{where}: older_than_days must be a positive integer")
        where_clause = entry.get("where") or {}
        if not isinstance(where_clause, dict):
            raise ConfigError(f"{where}: where must map column -> value")
        policies.append(RetentionPolicy(org, obj, days, dict(where_clause)))
    return tuple(policies)
