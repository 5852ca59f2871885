"""System query options: parsed from the raw query string, validated, typed.

Names may arrive percent-encoded (`%24filter`) and spaces as `+`; both are decoded
here. Repeated options, unknown `$` options and over-long values are 400s; the
options OData defines but this service does not implement are 501s. Options
without `$` are custom options, which OData says to ignore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from odata_service.errors import (
    BadRequest,
    LimitExceeded,
    NotAcceptable,
    NotImplementedFeature,
)
from odata_service.filter_parser import parse_filter, parse_orderby
from odata_service.search_parser import parse_search
from odata_service.syntax import Node, OrderItem, SearchNode

MAX_QUERY_LENGTH = 65_536
MAX_OPTION_LENGTH = 32_768
MAX_FIELDS = 64
MAX_INTEGER = 2**53
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SUPPORTED = frozenset(
    {
        "$select",
        "$filter",
        "$orderby",
        "$top",
        "$skip",
        "$count",
        "$search",
        "$skiptoken",
        "$format",
    }
)
_NOT_IMPLEMENTED = frozenset(
    {"$expand", "$apply", "$compute", "$levels", "$deltatoken", "$id", "$index", "$schemaversion"}
)


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[str, ...] | None = None
    filter: Node | None = None
    orderby: tuple[OrderItem, ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False
    search: SearchNode | None = None
    skiptoken: str | None = None
    # Decoded option text by lower-case name: for next links and count-cache keys.
    raw: dict[str, str] = field(default_factory=dict)


def parse_options(query_string: str) -> QueryOptions:
    if len(query_string) > MAX_QUERY_LENGTH:
        raise LimitExceeded(f"query string longer than {MAX_QUERY_LENGTH} characters")
    try:
        pairs = parse_qsl(query_string, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise LimitExceeded(f"more than {MAX_FIELDS} query options") from None
    raw: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            continue
        key = name.lower()
        if "\x00" in value:
            raise BadRequest(f"{key}: NUL characters are not allowed", target=key)
        if key in raw:
            raise BadRequest(f"{key} is given more than once", target=key)
        if len(value) > MAX_OPTION_LENGTH:
            raise LimitExceeded(f"{key} is longer than {MAX_OPTION_LENGTH} characters", target=key)
        if key in _NOT_IMPLEMENTED:
            raise NotImplementedFeature(f"{key} is not supported by this service", target=key)
        if key not in _SUPPORTED:
            raise BadRequest(
                f"unknown system query option {name!r}; supported: {', '.join(sorted(_SUPPORTED))}",
                target=key,
            )
        raw[key] = value
    _check_format(raw.get("$format"))
    return QueryOptions(
        select=_select(raw["$select"]) if "$select" in raw else None,
        filter=parse_filter(raw["$filter"]) if "$filter" in raw else None,
        orderby=parse_orderby(raw["$orderby"]) if "$orderby" in raw else (),
        top=_integer(raw, "$top"),
        skip=_integer(raw, "$skip"),
        count=_boolean(raw, "$count"),
        search=parse_search(raw["$search"]) if "$search" in raw else None,
        skiptoken=_skiptoken(raw.get("$skiptoken")),
        raw=raw,
    )


def _select(value: str) -> tuple[str, ...]:
    names: list[str] = []
    for item in value.split(","):
        name = item.strip()
        if name != "*" and not _NAME.match(name):
            raise BadRequest(
                f"$select: {name!r} is not a property name; give names separated by commas",
                target="$select",
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def _integer(raw: dict[str, str], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > MAX_INTEGER:
        raise BadRequest(f"{key} must be a non-negative integer, got {value!r}", target=key)
    return int(value)


def _boolean(raw: dict[str, str], key: str) -> bool:
    value = raw.get(key)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"{key} must be true or false, got {value!r}", target=key)
    return value.lower() == "true"


def _skiptoken(value: str | None) -> str | None:
    if value is not None and not value:
        raise BadRequest("$skiptoken is empty", target="$skiptoken")
    return value


def _check_format(value: str | None) -> None:
    if value is None:
        return
    kind = value.split(";", 1)[0].strip().lower()
    if kind not in ("json", "application/json"):
        raise NotAcceptable(
            f"$format={value!r} is not available; this service answers in JSON",
            target="$format",
        )
