"""Tokenizer and recursive-descent parser for `$filter`, `$orderby` and key predicates.

The grammar is OData 4.0's, with what Salesforce Connect and its users bring:
unquoted ISO date/time literals (also when a URL's `+` in the offset arrived as a
space), 2.0-style `datetime'...'` literals and `substringof`, function names in any
case. `not` takes a comparison as its operand (`not Name eq 'x'` means what people
mean). `and`/`or` chains are flattened so that the long `Id eq 'a' or Id eq 'b' …`
lists Salesforce sends do not nest deeply. Bounds on nesting, size and literal
ranges keep hostile input to a clean `QuerySyntaxError`/`LimitExceeded`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from odata_service.edm import (
    BOOLEAN,
    DATE,
    DATETIMEOFFSET,
    DECIMAL,
    DOUBLE,
    INT32,
    INT64,
    STRING,
)
from odata_service.errors import LimitExceeded, NotImplementedFeature, QuerySyntaxError
from odata_service.syntax import (
    NULL,
    Arithmetic,
    Call,
    Compare,
    In,
    Literal,
    Logical,
    Negate,
    Node,
    Not,
    OrderItem,
    PropertyRef,
)

MAX_DEPTH = 40
MAX_NODES = 4000
MAX_IN_ITEMS = 1000
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<string>'(?:[^']|'')*')
    |(?P<typed>(?:datetime|datetimeoffset)'[^']*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?
        (?:[Zz]|[+-]\d{2}:\d{2}|\ \d{2}:\d{2})?)
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<punct>[(),/=:-])
    """,
    re.VERBOSE,
)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?"
    r"(?:([Zz])|([+ -])(\d{2}):(\d{2}))?$"
)
COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_ADDITIVE = frozenset({"add", "sub"})
_MULTIPLICATIVE = frozenset({"mul", "div", "divby", "mod"})
# Functions OData defines that this service does not implement (501, not 400).
UNSUPPORTED_FUNCTIONS = frozenset(
    {
        "cast",
        "isof",
        "fractionalseconds",
        "time",
        "totaloffsetminutes",
        "totalseconds",
        "mindatetime",
        "maxdatetime",
        "matchespattern",
        "hassubset",
        "hassubsequence",
        "case",
    }
)
_KEYWORDS = COMPARISONS | _ADDITIVE | _MULTIPLICATIVE | {"and", "or", "not", "in", "has"}


@dataclass(frozen=True)
class Token:
    kind: str  # string datetime date number ident punct literal end
    text: str
    pos: int
    value: object = None
    type: str | None = None


def tokenize(source: str, option: str = "$filter") -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            what = "unterminated string" if source[pos] == "'" else f"unexpected {source[pos]!r}"
            raise QuerySyntaxError(f"{option}: {what} at position {pos}", target=option)
        kind = match.lastgroup or ""
        text = match.group()
        if kind != "ws":
            tokens.append(_literal_token(kind, text, pos, option))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def _literal_token(kind: str, text: str, pos: int, option: str) -> Token:
    try:
        if kind == "string":
            return Token("literal", text, pos, text[1:-1].replace("''", "'"), STRING)
        if kind == "typed":
            rest = text.partition("'")[2]
            value = _parse_datetime(rest[:-1])
            return Token("literal", text, pos, value, DATETIMEOFFSET)
        if kind == "datetime":
            return Token("literal", text, pos, _parse_datetime(text), DATETIMEOFFSET)
        if kind == "date":
            return Token("literal", text, pos, date.fromisoformat(text), DATE)
        if kind == "number":
            return _number_token(text, pos, option)
    except ValueError as exc:
        raise QuerySyntaxError(
            f"{option}: invalid literal {text!r} at position {pos}: {exc}", target=option
        ) from None
    return Token(kind, text, pos)


def _number_token(text: str, pos: int, option: str) -> Token:
    suffix = text[-1].lower() if text[-1].isalpha() and text[-1] not in "eE" else ""
    digits = text[:-1] if suffix else text
    if suffix in ("", "l") and not any(c in digits for c in ".eE"):
        value = int(digits)
        if value > INT64_MAX:
            raise QuerySyntaxError(
                f"{option}: integer {text} at position {pos} is out of range", target=option
            )
        return Token("literal", text, pos, value, INT32 if value <= INT32_MAX else INT64)
    if suffix in ("d", "f") or ("e" in digits.lower() and suffix != "m"):
        value = float(digits)
        if value in (float("inf"), float("-inf")):
            raise QuerySyntaxError(
                f"{option}: number {text} at position {pos} is out of range", target=option
            )
        return Token("literal", text, pos, value, DOUBLE)
    try:
        value = Decimal(digits)
    except InvalidOperation:
        raise QuerySyntaxError(f"{option}: invalid number {text!r}", target=option) from None
    if abs(value.adjusted()) > 300:
        raise QuerySyntaxError(
            f"{option}: number {text} at position {pos} is out of range", target=option
        )
    return Token("literal", text, pos, value, DECIMAL)


def _parse_datetime(text: str) -> datetime:
    match = _DATETIME.match(text)
    if match is None:
        raise ValueError("expected an ISO 8601 date-time such as 2024-01-02T03:04:05Z")
    year, month, day, hour, minute, second, fraction, _zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        # A '+' decoded from a URL arrives as a space.
        tz = timezone(-offset if sign == "-" else offset)
    value = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
    )
    return value.astimezone(UTC)


class _Parser:
    def __init__(self, source: str, option: str) -> None:
        self.option = option
        self.tokens = tokenize(source, option)
        self.index = 0
        self.depth = 0
        self.nodes = 0

    # -- helpers ---------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> QuerySyntaxError:
        token = token or self.current
        where = "end of input" if token.kind == "end" else f"{token.text!r} at position {token.pos}"
        return QuerySyntaxError(f"{self.option}: {message} (at {where})", target=self.option)

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.text in words

    def at_punct(self, text: str) -> bool:
        return self.current.kind == "punct" and self.current.text == text

    def expect_punct(self, text: str) -> None:
        if not self.at_punct(text):
            raise self.error(f"expected {text!r}")
        self.advance()

    def node(self, value: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise LimitExceeded(
                f"{self.option}: expression too large (more than {MAX_NODES} parts)",
                target=self.option,
            )
        return value

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitExceeded(
                f"{self.option}: expression nested more than {MAX_DEPTH} levels deep",
                target=self.option,
            )

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self.error("empty expression")
        expression = self.parse_or()
        if self.current.kind != "end":
            raise self.error("unexpected token")
        return expression

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.at_word("or"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else self.node(Logical("or", tuple(operands)))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.at_word("and"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else self.node(Logical("and", tuple(operands)))

    def parse_not(self) -> Node:
        if self.at_word("not"):
            self.advance()
            self.enter()
            operand = self.parse_not()
            self.depth -= 1
            return self.node(Not(operand))
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_additive()
        while True:
            if self.current.kind == "ident" and self.current.text in COMPARISONS:
                op = self.advance().text
                left = self.node(Compare(op, left, self.parse_additive()))
            elif self.at_word("in"):
                self.advance()
                left = self.node(In(left, self.parse_list()))
            elif self.at_word("has"):
                raise NotImplementedFeature(
                    f"{self.option}: the 'has' operator (enumerations) is not supported",
                    target=self.option,
                )
            else:
                return left

    def parse_list(self) -> tuple[Node, ...]:
        self.expect_punct("(")
        items = [self.parse_additive()]
        while self.at_punct(","):
            self.advance()
            items.append(self.parse_additive())
            if len(items) > MAX_IN_ITEMS:
                raise LimitExceeded(
                    f"{self.option}: 'in' lists are limited to {MAX_IN_ITEMS} values",
                    target=self.option,
                )
        self.expect_punct(")")
        return tuple(items)

    def parse_additive(self) -> Node:
        left = self.parse_multiplicative()
        while self.current.kind == "ident" and self.current.text in _ADDITIVE:
            op = self.advance().text
            left = self.node(Arithmetic(op, left, self.parse_multiplicative()))
        return left

    def parse_multiplicative(self) -> Node:
        left = self.parse_unary()
        while self.current.kind == "ident" and self.current.text in _MULTIPLICATIVE:
            op = self.advance().text
            op = "div" if op == "divby" else op
            left = self.node(Arithmetic(op, left, self.parse_unary()))
        return left

    def parse_unary(self) -> Node:
        self.enter()
        try:
            if self.at_punct("-"):
                self.advance()
                token = self.current
                if token.kind == "literal" and token.type in (INT32, INT64, DECIMAL, DOUBLE):
                    self.advance()
                    value = -token.value  # type: ignore[operator]
                    return self.node(Literal(value, token.type or INT64))
                return self.node(Negate(self.parse_unary()))
            if self.at_word("not"):
                self.advance()
                return self.node(Not(self.parse_unary()))
            return self.parse_primary()
        finally:
            self.depth -= 1

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind == "literal":
            self.advance()
            return self.node(Literal(token.value, token.type or STRING))
        if self.at_punct("("):
            self.advance()
            inner = self.parse_or()
            self.expect_punct(")")
            return inner
        if token.kind != "ident" or token.text in _KEYWORDS:
            raise self.error("expected a property, literal, function or '('")
        self.advance()
        if self.at_punct("("):
            name = token.text.lower()
            if name in UNSUPPORTED_FUNCTIONS or name.startswith("geo."):
                raise NotImplementedFeature(
                    f"{self.option}: function {name} is not supported", target=self.option
                )
            return self.node(Call(name, self.parse_arguments()))
        if token.text == "true" or token.text == "false":
            return self.node(Literal(token.text == "true", BOOLEAN))
        if token.text == "null":
            return self.node(Literal(None, NULL))
        if "." in token.text:
            raise self.error("qualified names are not supported here", token)
        if self.at_punct("/"):
            raise NotImplementedFeature(
                f"{self.option}: navigation paths and lambda operators ({token.text}/...) "
                "are not supported; filter on this entity's own properties",
                target=self.option,
            )
        return self.node(PropertyRef(token.text))

    def parse_arguments(self) -> tuple[Node, ...]:
        self.expect_punct("(")
        if self.at_punct(")"):
            self.advance()
            return ()
        args = [self.parse_or()]
        while self.at_punct(","):
            self.advance()
            args.append(self.parse_or())
        self.expect_punct(")")
        return tuple(args)


def parse_filter(source: str) -> Node:
    return _Parser(source, "$filter").parse()


def parse_orderby(source: str) -> tuple[OrderItem, ...]:
    """`$orderby`: property names, each optionally `asc` or `desc`, separated by commas.

    Only properties are accepted: keyset paging needs plain sortable columns.
    """
    tokens = tokenize(source, "$orderby")
    items: list[OrderItem] = []
    index = 0
    while True:
        token = tokens[index]
        if token.kind != "ident" or "." in token.text or token.text in _KEYWORDS:
            raise QuerySyntaxError(
                f"$orderby: expected a property name at position {token.pos}; "
                "only properties can be ordered by",
                target="$orderby",
            )
        index += 1
        descending = False
        if tokens[index].kind == "ident" and tokens[index].text.lower() in ("asc", "desc"):
            descending = tokens[index].text.lower() == "desc"
            index += 1
        items.append(OrderItem(token.text, descending))
        if tokens[index].kind == "end":
            return tuple(items)
        if not (tokens[index].kind == "punct" and tokens[index].text == ","):
            raise QuerySyntaxError(
                f"$orderby: expected ',' or 'asc'/'desc' at position {tokens[index].pos}",
                target="$orderby",
            )
        index += 1


def parse_key(source: str) -> tuple[str | None, Literal]:
    """A key predicate's content: `'abc'` or `GoldenId='abc'`."""
    tokens = tokenize(source, "key")
    name = None
    index = 0
    if (
        len(tokens) == 4
        and tokens[0].kind == "ident"
        and tokens[1].kind == "punct"
        and tokens[1].text == "="
    ):
        name = tokens[0].text
        index = 2
    token = tokens[index]
    if token.kind != "literal" or tokens[index + 1].kind != "end":
        raise QuerySyntaxError(
            f"key: expected a single literal such as ('001xx') or (Name='001xx'), got ({source})",
            target="key",
        )
    return name, Literal(token.value, token.type or STRING)
