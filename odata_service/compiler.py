"""`$filter` and `$search` syntax trees compiled to SQLAlchemy Core over the declared columns.

Only properties of the entity set's bound model can appear; every value is a bound
parameter. Types are checked as OData defines them (`Name gt 5` is a 400), and
null behaves as OData says rather than as SQL does: `ne` keeps rows whose value
is null, and `not (A eq B)` is true when A is null. To keep indexes usable, a
comparison result whose SQL may be NULL (meaning OData `false`) is only wrapped in
`coalesce` where the difference shows: under `not` and inside other comparisons.

Substring functions (`contains`, `startswith`, `endswith`, `substringof`) and
`$search` match case-insensitively (ILIKE, served by the trigram indexes): that is
what Salesforce users expect from a search box, where SOQL's LIKE is
case-insensitive. `eq` compares exactly, so a key value matches as stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Integer,
    Numeric,
    String,
    and_,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    true,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from odata_service.edm import (
    BOOLEAN,
    DATE,
    DATETIMEOFFSET,
    DECIMAL,
    DOUBLE,
    INT32,
    INT64,
    INTEGER_TYPES,
    NUMERIC_TYPES,
    STRING,
)
from odata_service.errors import (
    BadRequest,
    NotImplementedFeature,
    QuerySyntaxError,
    QueryTypeError,
    UnknownProperty,
)
from odata_service.model import EntitySet, Property
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
    PropertyRef,
    SearchLogical,
    SearchNode,
    SearchNot,
    SearchTerm,
)

_NO_VALUE = object()
OPTION = "$filter"
_TEXT_MATCHES = frozenset({"contains", "startswith", "endswith", "substringof"})
# pg_trgm extracts nothing from a shorter term, so its index cannot narrow the rows.
MIN_TRIGRAM_TERM = 3


@dataclass(frozen=True)
class Typed:
    """A compiled operand: its SQL, Edm type, and what a SQL NULL from it means."""

    sql: ColumnElement
    type: str
    # True for comparison results, whose SQL NULL stands for OData `false`.
    predicate: bool = False
    literal: object = _NO_VALUE
    prop: Property | None = None

    @property
    def is_literal(self) -> bool:
        return self.literal is not _NO_VALUE

    def value(self) -> ColumnElement:
        """The SQL as a two-valued boolean where NULL would otherwise mean false."""
        return func.coalesce(self.sql, false()) if self.predicate else self.sql


def _sa_type(edm_type: str) -> TypeEngine:
    return {
        STRING: String(),
        INT32: Integer(),
        INT64: BigInteger(),
        DECIMAL: Numeric(),
        DOUBLE: Double(),
        BOOLEAN: Boolean(),
        DATE: Date(),
        DATETIMEOFFSET: DateTime(timezone=True),
    }[edm_type]


def _comparable(a: str, b: str) -> bool:
    return a == b or (a in NUMERIC_TYPES and b in NUMERIC_TYPES) or {a, b} <= {DATE, DATETIMEOFFSET}


def _describe(operand: Typed) -> str:
    if operand.prop is not None:
        return operand.prop.name
    if operand.is_literal:
        return repr(operand.literal)
    return "expression"


def like_pattern(text: str, prefix: str, suffix: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{prefix}{escaped}{suffix}"


class FilterCompiler:
    def __init__(self, entity_set: EntitySet) -> None:
        self.entity_set = entity_set

    def predicate(self, node: Node) -> ColumnElement:
        compiled = self.compile(node, top=True)
        if compiled.type != BOOLEAN:
            raise QueryTypeError(
                f"$filter must be a boolean expression, got {compiled.type}", target=OPTION
            )
        return compiled.sql

    # `top` is true where only truthiness matters (the WHERE clause and the and/or
    # operands under it): there SQL NULL and OData false select the same rows.
    def compile(self, node: Node, top: bool = False) -> Typed:
        match node:
            case Literal(value, type_):
                if type_ == NULL:
                    return Typed(null(), NULL, literal=None)
                return Typed(literal(value, _sa_type(type_)), type_, literal=value)
            case PropertyRef(name):
                return self.property(name)
            case Compare(op, left, right):
                return self.compare(op, self.compile(left), self.compile(right))
            case Logical(op, operands):
                return self.logical(op, [self.compile(o, top) for o in operands], top)
            case Not(operand):
                return self.negation(self.compile(operand))
            case In(operand, items):
                return self.membership(self.compile(operand), [self.compile(i) for i in items])
            case Arithmetic(op, left, right):
                return self.arithmetic(op, self.compile(left), self.compile(right))
            case Negate(operand):
                value = self.compile(operand)
                self.require(value, NUMERIC_TYPES, "unary '-'")
                return Typed(-value.sql, value.type)
            case Call(name, args):
                return self.call(name, [self.compile(a) for a in args])
        raise QuerySyntaxError(f"$filter: unsupported expression {node!r}", target=OPTION)

    def property(self, name: str) -> Typed:
        prop = self.entity_set.prop(name)
        if prop is None:
            if name in self.entity_set.navigation:
                raise NotImplementedFeature(
                    f"$filter: navigation property {name} cannot be used in a filter",
                    target=OPTION,
                )
            raise UnknownProperty(
                f"$filter: {self.entity_set.type_name} has no property {name!r}; "
                f"properties: {', '.join(self.entity_set.properties)}",
                target=OPTION,
            )
        return Typed(prop.expression, prop.edm_type, prop=prop)

    @staticmethod
    def require(operand: Typed, types: frozenset[str] | set[str], where: str) -> None:
        if operand.type not in types:
            raise QueryTypeError(
                f"$filter: {where} does not accept {_describe(operand)} of type {operand.type}",
                target=OPTION,
            )

    # -- literals next to properties -------------------------------------------------
    @staticmethod
    def bind_like(value: object, partner: Typed) -> object:
        """A literal's value as the partner column stores it (so its index applies)."""
        if partner.type == DATETIMEOFFSET and isinstance(value, date | datetime):
            if not isinstance(value, datetime):
                value = datetime.combine(value, time(), UTC)
            if partner.prop is not None and partner.prop.naive_utc:
                value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def coerce(self, operand: Typed, partner: Typed) -> Typed:
        if not operand.is_literal or partner.is_literal or partner.prop is None:
            return operand
        value = self.bind_like(operand.literal, partner)
        return Typed(literal(value, partner.sql.type), partner.type, literal=value)

    # -- operators -------------------------------------------------------------------
    def compare(self, op: str, left: Typed, right: Typed) -> Typed:
        if NULL in (left.type, right.type):
            return self.compare_null(op, left, right)
        if not _comparable(left.type, right.type):
            raise QueryTypeError(
                f"$filter: cannot compare {_describe(left)} ({left.type}) with "
                f"{_describe(right)} ({right.type}) using '{op}'",
                target=OPTION,
            )
        left, right = self.coerce(left, right), self.coerce(right, left)
        if left.type == BOOLEAN and op in ("eq", "ne"):
            for expression, other in ((left, right), (right, left)):
                if other.is_literal and not expression.is_literal:
                    return self.compare_boolean(op, expression, bool(other.literal))
        a, b = (left.value(), right.value()) if left.type == BOOLEAN else (left.sql, right.sql)
        one_literal = left.is_literal or right.is_literal
        if op == "eq":
            if one_literal:
                return Typed(a == b, BOOLEAN, predicate=True)
            return Typed(a.is_not_distinct_from(b), BOOLEAN)
        if op == "ne":
            return Typed(a.is_distinct_from(b), BOOLEAN)
        sql = {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
        return Typed(sql, BOOLEAN, predicate=True)

    @staticmethod
    def compare_null(op: str, left: Typed, right: Typed) -> Typed:
        other = right if left.type == NULL else left
        if other.type == NULL:
            return Typed(true() if op in ("eq", "ge", "le") else false(), BOOLEAN)
        if op in ("eq", "ge", "le"):
            return Typed(other.value().is_(None), BOOLEAN)
        if op == "ne":
            return Typed(other.value().is_not(None), BOOLEAN)
        return Typed(false(), BOOLEAN)

    @staticmethod
    def compare_boolean(op: str, expression: Typed, value: bool) -> Typed:
        # `contains(Name,'x') eq true` stays the bare predicate so its index applies.
        if op == "eq" and value:
            return Typed(expression.sql, BOOLEAN, predicate=True)
        target = true() if value else false()
        if op == "eq":
            return Typed(expression.value().is_(target), BOOLEAN)
        return Typed(expression.value().is_not(target), BOOLEAN)

    def logical(self, op: str, operands: list[Typed], top: bool) -> Typed:
        for operand in operands:
            self.require(operand, {BOOLEAN}, f"'{op}'")
        combine = and_ if op == "and" else or_
        if top or all(o.predicate for o in operands):
            return Typed(combine(*(o.sql for o in operands)), BOOLEAN, predicate=True)
        return Typed(combine(*(o.value() for o in operands)), BOOLEAN)

    def negation(self, operand: Typed) -> Typed:
        self.require(operand, {BOOLEAN}, "'not'")
        return Typed(not_(operand.value()), BOOLEAN)

    def membership(self, operand: Typed, items: list[Typed]) -> Typed:
        values = []
        has_null = False
        for item in items:
            if not item.is_literal:
                raise QueryTypeError("$filter: 'in' takes a list of literals", target=OPTION)
            if item.type == NULL:
                has_null = True
                continue
            if not _comparable(operand.type, item.type):
                raise QueryTypeError(
                    f"$filter: {_describe(operand)} ({operand.type}) cannot be compared "
                    f"with {item.literal!r} ({item.type})",
                    target=OPTION,
                )
            values.append(self.bind_like(item.literal, operand))
        column = operand.value()
        clauses = [column.in_(values)] if values else []
        if has_null:
            clauses.append(column.is_(None))
        if not clauses:
            return Typed(false(), BOOLEAN)
        return Typed(or_(*clauses), BOOLEAN, predicate=True)

    def arithmetic(self, op: str, left: Typed, right: Typed) -> Typed:
        self.require(left, NUMERIC_TYPES, f"'{op}'")
        self.require(right, NUMERIC_TYPES, f"'{op}'")
        types = {left.type, right.type}
        result = DOUBLE if DOUBLE in types else DECIMAL if DECIMAL in types else INT64
        if op in ("div", "mod") and right.is_literal and right.literal == 0:
            raise QueryTypeError(f"$filter: '{op}' by zero", target=OPTION)
        if op == "mod" and result == DOUBLE:
            raise QueryTypeError("$filter: 'mod' needs integer or decimal operands", target=OPTION)
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}[op]
        return Typed(left.sql.op(symbol, return_type=_sa_type(result))(right.sql), result)

    # -- functions -------------------------------------------------------------------
    def call(self, name: str, args: list[Typed]) -> Typed:
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise QuerySyntaxError(f"$filter: unknown function {name!r}", target=OPTION)
        arg_types, build = spec
        if len(args) not in arg_types:
            counts = " or ".join(str(n) for n in sorted(arg_types))
            raise QueryTypeError(
                f"$filter: {name} takes {counts} argument(s), got {len(args)}", target=OPTION
            )
        for position, (arg, allowed) in enumerate(zip(args, arg_types[len(args)], strict=True)):
            if arg.type not in allowed:
                raise QueryTypeError(
                    f"$filter: argument {position + 1} of {name} must be "
                    f"{' or '.join(sorted(allowed))}, got {_describe(arg)} ({arg.type})",
                    target=OPTION,
                )
        return build(*args)


def _text_match(kind: str) -> Callable[[Typed, Typed], Typed]:
    def build(subject: Typed, part: Typed) -> Typed:
        if part.is_literal and isinstance(part.literal, str):
            prefix = "" if kind == "startswith" else "%"
            suffix = "" if kind == "endswith" else "%"
            pattern = like_pattern(part.literal, prefix, suffix)
            return Typed(subject.sql.ilike(pattern, escape="\\"), BOOLEAN)
        haystack, needle = func.lower(subject.sql), func.lower(part.sql)
        if kind == "contains":
            return Typed(func.strpos(haystack, needle) > 0, BOOLEAN)
        if kind == "startswith":
            return Typed(func.starts_with(haystack, needle, type_=Boolean), BOOLEAN)
        return Typed(func.right(haystack, func.char_length(needle)) == needle, BOOLEAN)

    return build


def _substring(subject: Typed, start: Typed, length: Typed | None = None) -> Typed:
    # OData counts from 0, SQL from 1.
    first = literal(int(start.literal) + 1) if start.is_literal else start.sql + 1  # type: ignore[call-overload]
    args = (subject.sql, first) if length is None else (subject.sql, first, length.sql)
    return Typed(func.substr(*args, type_=String), STRING)


def _date_part(part: str) -> Callable[[Typed], Typed]:
    def build(value: Typed) -> Typed:
        extracted = extract(part, value.sql)
        if part == "second":
            extracted = func.floor(extracted)
        return Typed(cast(extracted, Integer), INT32)

    return build


_S = frozenset({STRING})
_INT = INTEGER_TYPES
_TEMPORAL = frozenset({DATE, DATETIMEOFFSET})
_DTO = frozenset({DATETIMEOFFSET})
_NUM = NUMERIC_TYPES

# name -> ({argument count: allowed types per argument}, builder)
_FUNCTIONS: dict[str, tuple[dict[int, tuple[frozenset[str], ...]], Callable[..., Typed]]] = {
    "contains": ({2: (_S, _S)}, _text_match("contains")),
    "startswith": ({2: (_S, _S)}, _text_match("startswith")),
    "endswith": ({2: (_S, _S)}, _text_match("endswith")),
    # OData 2.0's substringof(part, subject), argument order reversed.
    "substringof": ({2: (_S, _S)}, lambda part, subject: _text_match("contains")(subject, part)),
    "tolower": ({1: (_S,)}, lambda s: Typed(func.lower(s.sql, type_=String), STRING)),
    "toupper": ({1: (_S,)}, lambda s: Typed(func.upper(s.sql, type_=String), STRING)),
    "trim": ({1: (_S,)}, lambda s: Typed(func.btrim(s.sql, type_=String), STRING)),
    "length": ({1: (_S,)}, lambda s: Typed(func.char_length(s.sql, type_=Integer), INT32)),
    "indexof": (
        {2: (_S, _S)},
        lambda s, p: Typed(func.strpos(s.sql, p.sql, type_=Integer) - 1, INT32),
    ),
    "substring": ({2: (_S, _INT), 3: (_S, _INT, _INT)}, _substring),
    "concat": ({2: (_S, _S)}, lambda a, b: Typed(a.sql.concat(b.sql), STRING)),
    "year": ({1: (_TEMPORAL,)}, _date_part("year")),
    "month": ({1: (_TEMPORAL,)}, _date_part("month")),
    "day": ({1: (_TEMPORAL,)}, _date_part("day")),
    "hour": ({1: (_DTO,)}, _date_part("hour")),
    "minute": ({1: (_DTO,)}, _date_part("minute")),
    "second": ({1: (_DTO,)}, _date_part("second")),
    "date": ({1: (_DTO,)}, lambda v: Typed(cast(v.sql, Date), DATE)),
    "now": ({0: ()}, lambda: Typed(func.now(type_=DateTime(timezone=True)), DATETIMEOFFSET)),
    "round": ({1: (_NUM,)}, lambda v: Typed(func.round(v.sql, type_=v.sql.type), v.type)),
    "floor": ({1: (_NUM,)}, lambda v: Typed(func.floor(v.sql, type_=v.sql.type), v.type)),
    "ceiling": ({1: (_NUM,)}, lambda v: Typed(func.ceiling(v.sql, type_=v.sql.type), v.type)),
}


def search_predicate(entity_set: EntitySet, node: SearchNode) -> ColumnElement:
    if not entity_set.searchable:
        raise BadRequest(f"$search is not available on {entity_set.name}", target="$search")

    def build(item: SearchNode) -> ColumnElement:
        match item:
            case SearchTerm(text):
                pattern = like_pattern(text, "%", "%")
                return or_(
                    *(p.expression.ilike(pattern, escape="\\") for p in entity_set.searchable)
                )
            case SearchLogical(op, operands):
                return (and_ if op == "AND" else or_)(*(build(o) for o in operands))
            case SearchNot(operand):
                return not_(func.coalesce(build(operand), false()))
        raise QuerySyntaxError("$search: unsupported expression", target="$search")

    return build(node)


def trigram_search(filter: Node | None, search: SearchNode | None) -> bool:
    """Whether the request matches text that the trigram indexes find faster than any order.

    True when there are text-match terms (`contains` and its kin with a literal, or
    `$search` terms) outside `not`, all long enough for a trigram. The reader then
    finds the matches first and sorts them (see `Reader._page`).
    """
    terms: list[str] = []
    _filter_terms(filter, terms)
    _search_terms(search, terms)
    return bool(terms) and all(len(t) >= MIN_TRIGRAM_TERM for t in terms)


def _filter_terms(node: Node | None, terms: list[str]) -> None:
    match node:
        case Call(name, args) if name in _TEXT_MATCHES and len(args) == 2:
            # What is searched for: substringof(part, subject), the others (subject, part).
            part = args[0] if name == "substringof" else args[1]
            if isinstance(part, Literal) and isinstance(part.value, str):
                terms.append(part.value)
        case Compare(_, left, right) | Arithmetic(_, left, right):
            _filter_terms(left, terms)
            _filter_terms(right, terms)
        case Logical(_, operands):
            for operand in operands:
                _filter_terms(operand, terms)
        case Call(_, args):
            for arg in args:
                _filter_terms(arg, terms)


def _search_terms(node: SearchNode | None, terms: list[str]) -> None:
    match node:
        case SearchTerm(text):
            terms.append(text)
        case SearchLogical(_, operands):
            for operand in operands:
                _search_terms(operand, terms)
