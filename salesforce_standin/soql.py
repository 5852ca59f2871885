"""The SOQL subset the stand-in understands, shared by REST and Bulk queries.

    SELECT F1, F2, ... FROM Object
        [WHERE cond [AND cond]...] [ORDER BY Field [ASC|DESC] [NULLS FIRST|LAST]] [LIMIT n]

A condition is `Field op literal` (op one of = != <> < <= > >=), `Field [NOT] IN (lit, ...)`
or `Field LIKE 'pattern'`; literals are datetimes (2024-05-01T10:00:00Z, .000Z, +00:00),
dates, numbers, 'strings' and true/false/null. That is what an incremental extract sends
(`WHERE SystemModstamp > ...`); anything else gets MALFORMED_QUERY rather than a guess.

Field and object names are case-insensitive and come back in describe casing. Conditions
compare stored text directly where its order is the value's order (ISO dates and
datetimes), so a filter over a million rows is one list comprehension.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesforce_standin.ids import normalize_id
from salesforce_standin.org import Row, StandinOrg, Table, UnknownField, UnknownObject
from salesforce_standin.values import (
    FALSE,
    ID_TYPES,
    NULL,
    NUMBER_TYPES,
    STRING_TYPES,
    TRUE,
    parse_datetime_text,
    render_datetime,
)


class SoqlError(ValueError):
    """A query Salesforce would refuse: `code` is its errorCode (400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[,()])
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "group",
    "having",
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


@dataclass
class _Literal:
    kind: str  # string, datetime, date, number, boolean, null
    value: Any
    text: str


@dataclass
class Query:
    """A parsed, resolved query: run it with `run`."""

    table: Table
    indices: list[int]
    header: list[str]
    predicates: list[Callable[[Row], bool]] = field(default_factory=list)
    order: tuple[int, bool, bool] | None = None  # (index, descending, nulls_last)
    limit: int | None = None

    @property
    def object_name(self) -> str:
        return self.table.name

    def run(self, rows: list[Row], include_deleted: bool) -> list[Row]:
        """The rows (whole tuples) this query selects from a snapshot, in result order."""
        if not include_deleted:
            i = self.table.i_deleted
            rows = [r for r in rows if r[i] == FALSE]
        for predicate in self.predicates:
            rows = [r for r in rows if predicate(r)]
        if self.order is not None:
            rows = _sort(rows, self.table, *self.order)
        if self.limit is not None:
            rows = rows[: self.limit]
        return rows


def _tokens(soql: str) -> list[_Token]:
    out = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{soql[pos : pos + 20]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(_Token(kind, match.group(), pos))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokens(soql)
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text.lower() == word:
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            token = self.peek()
            found = token.text if token else "end of query"
            raise SoqlError("MALFORMED_QUERY", f"expecting '{word.upper()}', found '{found}'")

    def name(self) -> str:
        token = self.next()
        if token.kind != "name" or token.text.lower() in _KEYWORDS:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
        return token.text

    def literal(self) -> _Literal:
        token = self.next()
        text = token.text
        if token.kind == "string":
            return _Literal("string", re.sub(r"\\(.)", r"\1", text[1:-1]), text)
        if token.kind == "datetime":
            value = parse_datetime_text(text)
            if value is None:
                raise SoqlError("MALFORMED_QUERY", f"invalid datetime: {text}")
            return _Literal("datetime", render_datetime(value), text)
        if token.kind == "date":
            return _Literal("date", text, text)
        if token.kind == "number":
            return _Literal("number", float(text), text)
        if token.kind == "name" and text.lower() in ("true", "false"):
            return _Literal("boolean", TRUE if text.lower() == "true" else FALSE, text)
        if token.kind == "name" and text.lower() == "null":
            return _Literal("null", None, text)
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'")


def parse(soql: str, org: StandinOrg) -> Query:
    """Parse and resolve a query against the org's schema; SoqlError if Salesforce would
    refuse it (INVALID_TYPE, INVALID_FIELD, MALFORMED_QUERY)."""
    p = _Parser(soql)
    p.expect("select")
    names = [p.name()]
    while p.peek() is not None and p.peek().kind == "punct" and p.peek().text == ",":  # type: ignore[union-attr]
        p.next()
        names.append(p.name())
    p.expect("from")
    object_name = p.name()
    try:
        table = org.table(object_name)
    except UnknownObject:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{object_name}' is not supported. If you "
            "are attempting to use a custom object, be sure to append the '__c' "
            "after the entity name.",
        ) from None
    query = Query(table, [], [])
    for name in names:
        i = _resolve(table, name)
        if i in query.indices:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {table.names[i]}")
        query.indices.append(i)
        query.header.append(table.names[i])
    if p.keyword("where"):
        query.predicates.append(_condition(p, table))
        while p.keyword("and"):
            query.predicates.append(_condition(p, table))
        token = p.peek()
        if token is not None and token.kind == "name" and token.text.lower() == "or":
            raise SoqlError("MALFORMED_QUERY", "OR is not supported by the stand-in")
    if p.keyword("order"):
        p.expect("by")
        i = _resolve(table, p.name())
        descending = False
        if p.keyword("desc"):
            descending = True
        else:
            p.keyword("asc")
        nulls_last = descending
        if p.keyword("nulls"):
            if p.keyword("last"):
                nulls_last = True
            else:
                p.expect("first")
                nulls_last = False
        query.order = (i, descending, nulls_last)
    if p.keyword("limit"):
        token = p.next()
        if token.kind != "number" or not token.text.isdigit():
            raise SoqlError("MALFORMED_QUERY", f"invalid LIMIT: {token.text}")
        query.limit = int(token.text)
    token = p.peek()
    if token is not None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
    return query


def _resolve(table: Table, name: str) -> int:
    try:
        return table.resolve(name)
    except UnknownField:
        raise SoqlError(
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{table.name}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        ) from None


def _type_error(field_name: str, field_type: str) -> SoqlError:
    wanted = {"datetime": "dateTime", "date": "date", "boolean": "boolean"}.get(
        field_type, field_type
    )
    return SoqlError(
        "MALFORMED_QUERY",
        f"value of filter criterion for field '{field_name}' "
        f"must be of type {wanted} and should not be enclosed in quotes",
    )


def _condition(p: _Parser, table: Table) -> Callable[[Row], bool]:
    i = _resolve(table, p.name())
    name = table.names[i]
    field_type = table.types[i]
    negate = p.keyword("not")
    if p.keyword("in"):
        token = p.next()
        if token.text != "(":
            raise SoqlError("MALFORMED_QUERY", f"expecting '(', found '{token.text}'")
        values = [_key(name, field_type, p.literal(), "=")]
        while p.peek() is not None and p.peek().text == ",":  # type: ignore[union-attr]
            p.next()
            values.append(_key(name, field_type, p.literal(), "="))
        token = p.next()
        if token.text != ")":
            raise SoqlError("MALFORMED_QUERY", f"expecting ')', found '{token.text}'")
        fold = _folder(field_type)
        wanted = frozenset(values)
        if negate:
            return lambda r: fold(r[i]) not in wanted
        return lambda r: fold(r[i]) in wanted
    if negate:
        raise SoqlError("MALFORMED_QUERY", "NOT is only supported before IN")
    if p.keyword("like"):
        literal = p.literal()
        if literal.kind != "string" or field_type not in STRING_TYPES | ID_TYPES:
            raise SoqlError("MALFORMED_QUERY", f"invalid LIKE on field '{name}'")
        pattern = re.compile(
            "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in literal.value),
            re.IGNORECASE | re.DOTALL,
        )
        return lambda r: r[i] != NULL and pattern.fullmatch(r[i]) is not None
    token = p.next()
    if token.kind != "op":
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'")
    op = token.text
    literal = p.literal()
    compare = _OPS[op]
    if literal.kind == "null":
        if op == "=":
            return lambda r: r[i] == NULL
        if op in ("!=", "<>"):
            return lambda r: r[i] != NULL
        raise SoqlError("MALFORMED_QUERY", "null can only be compared with = or !=")
    key = _key(name, field_type, literal, op)
    fold = _folder(field_type)
    if op in ("!=", "<>"):
        # In SOQL `Field != value` also matches rows where the field is null.
        return lambda r: r[i] == NULL or fold(r[i]) != key
    if fold is _same:
        return lambda r: (v := r[i]) != NULL and compare(v, key)
    return lambda r: (v := r[i]) != NULL and compare(fold(v), key)


def _same(value: Any) -> Any:
    return value


def _casefold(value: str) -> str:
    return value.casefold()


def _number(value: str) -> float | None:
    return float(value) if value else None


def _folder(field_type: str) -> Callable[[Any], Any]:
    """How stored text is turned into the comparison key for this field type."""
    if field_type in STRING_TYPES:
        return _casefold  # SOQL string comparison ignores case
    if field_type in NUMBER_TYPES:
        return _number
    return _same  # ids, booleans, ISO dates and datetimes compare as stored text


def _key(name: str, field_type: str, literal: _Literal, op: str) -> Any:
    """The literal as a comparison key for this field, or the error Salesforce gives."""
    kind = literal.kind
    if kind == "null":
        return None
    if field_type in STRING_TYPES:
        if kind != "string":
            raise _type_error(name, "string")
        return literal.value.casefold()
    if field_type in ID_TYPES:
        if kind != "string":
            raise _type_error(name, "id")
        try:
            return normalize_id(literal.value)
        except ValueError:
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}"
            ) from None
    if field_type in NUMBER_TYPES:
        if kind != "number":
            raise _type_error(name, "number")
        return literal.value
    if field_type == "boolean":
        if kind != "boolean":
            raise _type_error(name, "boolean")
        if op not in ("=", "!=", "<>"):
            raise SoqlError("MALFORMED_QUERY", f"invalid operator on boolean field '{name}'")
        return literal.value
    if field_type == "datetime":
        if kind != "datetime":
            raise _type_error(name, "datetime")
        return literal.value
    if field_type == "date":
        if kind != "date":
            raise _type_error(name, "date")
        return literal.value
    raise SoqlError("MALFORMED_QUERY", f"cannot filter on field '{name}'")


def _sort(rows: list[Row], table: Table, i: int, descending: bool, nulls_last: bool) -> list[Row]:
    fold = _folder(table.types[i])
    present = [r for r in rows if r[i] != NULL]
    nulls = [r for r in rows if r[i] == NULL]
    present.sort(key=lambda r: fold(r[i]), reverse=descending)
    return present + nulls if nulls_last else nulls + present
