"""Server-driven paging: sort keys, keyset predicates and opaque skip tokens.

A page continues after the last row of the previous one (keyset), never with
OFFSET, so the last page of a million rows costs what the first does and rows
that do not move are returned exactly once. The order is the requested `$orderby`
plus the entity key as a tie-breaker. The token carries the last row's sort values
and a fingerprint of the order; it is validated field by field on the way back.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import orjson
from sqlalchemy import and_, false, literal, or_, tuple_
from sqlalchemy.sql.elements import ColumnElement

from odata_service.edm import (
    BOOLEAN,
    DATE,
    DATETIMEOFFSET,
    DECIMAL,
    DOUBLE,
    INTEGER_TYPES,
    STRING,
)
from odata_service.errors import InvalidSkipToken, LimitExceeded, QuerySyntaxError
from odata_service.model import EntitySet, Property
from odata_service.syntax import OrderItem

MAX_ORDER_KEYS = 8
MAX_TOKEN_LENGTH = 4096
_JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


@dataclass(frozen=True)
class SortKey:
    prop: Property
    descending: bool = False


def sort_keys(entity_set: EntitySet, orderby: tuple[OrderItem, ...]) -> tuple[SortKey, ...]:
    if len(orderby) > MAX_ORDER_KEYS:
        raise LimitExceeded(f"$orderby: at most {MAX_ORDER_KEYS} properties", target="$orderby")
    keys: list[SortKey] = []
    for item in orderby:
        prop = entity_set.prop(item.name)
        if prop is None:
            raise QuerySyntaxError(
                f"$orderby: {entity_set.type_name} has no property {item.name!r}",
                target="$orderby",
            )
        if all(k.prop is not prop for k in keys):
            keys.append(SortKey(prop, item.descending))
    if all(k.prop is not entity_set.key for k in keys):
        keys.append(SortKey(entity_set.key))
    return tuple(keys)


def order_by(
    keys: tuple[SortKey, ...], columns: list[ColumnElement] | None = None
) -> list[ColumnElement]:
    """ORDER BY of `keys`, on their properties or on the `columns` that hold them."""
    expressions = columns if columns is not None else [k.prop.expression for k in keys]
    return [e.desc() if k.descending else e.asc() for k, e in zip(keys, expressions, strict=True)]


def after(keys: tuple[SortKey, ...], values: tuple) -> ColumnElement:
    """Rows strictly after `values` in the order of `keys` (Postgres: NULLS LAST when ascending)."""
    directions = {k.descending for k in keys}
    if len(directions) == 1 and not any(k.prop.nullable for k in keys):
        # One row comparison: the planner turns it into an index range scan.
        left = tuple_(*(k.prop.expression for k in keys))
        right = tuple_(*(_bind(k, v) for k, v in zip(keys, values, strict=True)))
        return left < right if keys[0].descending else left > right
    clause: ColumnElement | None = None
    for key, value in reversed(list(zip(keys, values, strict=True))):
        strict = _strictly_after(key, value)
        clause = strict if clause is None else or_(strict, and_(_equal(key, value), clause))
    assert clause is not None
    return clause


def _bind(key: SortKey, value: object) -> ColumnElement:
    return literal(value, key.prop.expression.type)


def _strictly_after(key: SortKey, value: object) -> ColumnElement:
    column = key.prop.expression
    if key.descending:  # NULLS FIRST
        return column.is_not(None) if value is None else column < _bind(key, value)
    if value is None:  # NULLS LAST: nothing after a null but other nulls
        return false()
    greater = column > _bind(key, value)
    return or_(greater, column.is_(None)) if key.prop.nullable else greater


def _equal(key: SortKey, value: object) -> ColumnElement:
    column = key.prop.expression
    return column.is_(None) if value is None else column == _bind(key, value)


def _fingerprint(entity_set: EntitySet, keys: tuple[SortKey, ...]) -> str:
    spec = (
        entity_set.name
        + ":"
        + ",".join(f"{k.prop.name}{'-' if k.descending else '+'}" for k in keys)
    )
    return format(zlib.crc32(spec.encode()), "08x")


def encode_token(entity_set: EntitySet, keys: tuple[SortKey, ...], values: tuple) -> str:
    payload = orjson.dumps(
        [_fingerprint(entity_set, keys), [_plain(v) for v in values]], option=_JSON_OPTIONS
    )
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _plain(value: object) -> object:
    return str(value) if isinstance(value, Decimal) else value


def decode_token(entity_set: EntitySet, keys: tuple[SortKey, ...], token: str) -> tuple:
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSkipToken("$skiptoken is too long", target="$skiptoken")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fingerprint, values = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidSkipToken(
            "$skiptoken is not one this service issued; follow @odata.nextLink as given",
            target="$skiptoken",
        ) from None
    if fingerprint != _fingerprint(entity_set, keys):
        raise InvalidSkipToken(
            "$skiptoken belongs to a different $orderby or entity set", target="$skiptoken"
        )
    if not isinstance(values, list) or len(values) != len(keys):
        raise InvalidSkipToken("$skiptoken is malformed", target="$skiptoken")
    return tuple(_typed(k.prop, v) for k, v in zip(keys, values, strict=True))


def _typed(prop: Property, value: object) -> object:
    if value is None:
        if not prop.nullable:
            raise InvalidSkipToken(f"$skiptoken: {prop.name} cannot be null", target="$skiptoken")
        return None
    try:
        return _CONVERTERS[prop.edm_type](prop, value)
    except (TypeError, ValueError, InvalidOperation):
        raise InvalidSkipToken(
            f"$skiptoken: bad value for {prop.name}", target="$skiptoken"
        ) from None


def _string(prop: Property, value: object) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise TypeError
    return value


def _integer(prop: Property, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
        raise TypeError
    return value


def _double(prop: Property, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)


def _decimal(prop: Property, value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError
    return Decimal(value)


def _boolean(prop: Property, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _date(prop: Property, value: object) -> date:
    if not isinstance(value, str):
        raise TypeError
    return date.fromisoformat(value)


def _datetime(prop: Property, value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError
    return parsed.astimezone(UTC).replace(tzinfo=None) if prop.naive_utc else parsed


_CONVERTERS = {
    STRING: _string,
    DOUBLE: _double,
    DECIMAL: _decimal,
    BOOLEAN: _boolean,
    DATE: _date,
    DATETIMEOFFSET: _datetime,
    **{t: _integer for t in INTEGER_TYPES},
}
