"""Fuzzing the query parsers and compiler: hostile input ends in a typed OData error, never
another exception; well-typed generated filters always compile. Bounded to a few seconds."""

from contextlib import suppress
from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odata_service.compiler import FilterCompiler, search_predicate
from odata_service.errors import ODataError
from odata_service.filter_parser import parse_filter, parse_orderby
from odata_service.options import parse_options
from odata_service.search_parser import parse_search
from tests.unit.test_odata_model import sql_of, things

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "Name",
    "Phone",
    "Size",
    "Price",
    "Active",
    "Born",
    "Seen",
    "Stamp",
    "Pair",
    "Nope",
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "and",
    "or",
    "not",
    "in",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "has",
    "(",
    ")",
    ",",
    "/",
    "-",
    "'x'",
    "'O''B'",
    "''",
    "'",
    "1",
    "-2",
    "2.5",
    "1e308",
    "1e999",
    "99999999999999999999",
    "true",
    "false",
    "null",
    "2024-01-02",
    "2024-01-02T03:04:05Z",
    "2024-13-45T99:99:99Z",
    "contains",
    "startswith",
    "endswith",
    "substringof",
    "tolower",
    "length",
    "indexof",
    "substring",
    "concat",
    "year",
    "hour",
    "date",
    "now",
    "round",
    "cast",
    "geo.distance",
    "any",
    ":",
    "$",
    "%",
    ";",
    "--",
    "\x00",
    "é",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join)
anything = st.one_of(token_soup, st.text(max_size=120))


def _compile(source: str) -> None:
    sql_of(FilterCompiler(things()).predicate(parse_filter(source)))


@FUZZ
@given(anything)
def test_filter_never_fails_untyped(source):
    with suppress(ODataError):
        _compile(source)


@FUZZ
@given(anything)
def test_orderby_search_and_options_never_fail_untyped(source):
    for parse in (parse_orderby, lambda s: search_predicate(things(), parse_search(s))):
        with suppress(ODataError):
            parse(source)
    with suppress(ODataError):
        parse_options(source)


_COMPARABLE = {
    "Name": st.text(max_size=10).map(lambda t: "'" + t.replace("'", "''") + "'"),
    "Phone": st.just("null"),
    "Size": st.integers(-(2**40), 2**40).map(str),
    "Price": st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    "Active": st.sampled_from(["true", "false"]),
    "Born": st.dates(min_value=date(1000, 1, 1)).map(lambda d: d.isoformat()),
    "Seen": st.datetimes(min_value=datetime(1000, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    ),
}
comparison = st.sampled_from(sorted(_COMPARABLE)).flatmap(
    lambda name: st.tuples(
        st.just(name), st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]), _COMPARABLE[name]
    ).map(" ".join)
)
well_typed = st.recursive(
    comparison,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
        inner.map(lambda e: f"not ({e})"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=12,
)


@FUZZ
@given(well_typed)
def test_well_typed_filters_compile(source):
    _compile(source)
