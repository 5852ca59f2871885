"""Resource paths below the service root: `Accounts`, `Accounts('k')`, `Accounts('k')/Contacts`,
each optionally ending in `/$count` where OData allows it.

The path arrives percent-decoded, so a key may contain '/' (`SourceRecords('account/a/001')`):
the closing parenthesis is found outside quoted strings before splitting segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from odata_service.errors import BadRequest, NotFound, NotImplementedFeature
from odata_service.filter_parser import parse_key
from odata_service.syntax import Literal

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ResourcePath:
    entity_set: str
    key: Literal | None = None
    key_name: str | None = None
    navigation: str | None = None
    count: bool = False


def parse_path(path: str) -> ResourcePath:
    if "\x00" in path:
        raise BadRequest("NUL characters are not allowed in the path")
    match = _IDENTIFIER.match(path)
    if match is None:
        raise NotFound(f"no resource at {path!r}")
    name = match.group()
    rest = path[match.end() :]
    key = key_name = None
    if rest.startswith("("):
        close = _closing_parenthesis(rest)
        key_name, key = parse_key(rest[1:close])
        rest = rest[close + 1 :]
    segments = [s for s in rest.split("/") if s] if rest.startswith("/") or not rest else None
    if segments is None:
        raise NotFound(f"no resource at {path!r}")
    if key is None:
        if segments == ["$count"]:
            return ResourcePath(name, count=True)
        if segments:
            raise NotFound(f"{name}/{'/'.join(segments)}: address a single entity by key first")
        return ResourcePath(name)
    if not segments:
        return ResourcePath(name, key, key_name)
    if segments[0].startswith("$"):
        raise NotImplementedFeature(f"{segments[0]} is not supported on a single entity")
    navigation = segments[0]
    if segments[1:] == ["$count"]:
        return ResourcePath(name, key, key_name, navigation, count=True)
    if segments[1:]:
        raise NotImplementedFeature(
            f"{'/'.join(segments)}: paths beyond one navigation step are not supported"
        )
    return ResourcePath(name, key, key_name, navigation)


def _closing_parenthesis(text: str) -> int:
    quoted = False
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted  # '' inside a string toggles twice: still quoted
        elif char == ")" and not quoted:
            return index
    raise BadRequest("key predicate: missing ')'")
