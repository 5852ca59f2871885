from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from odata_service.errors import LimitExceeded, NotImplementedFeature, QuerySyntaxError
from odata_service.filter_parser import MAX_DEPTH, parse_filter, parse_key, parse_orderby
from odata_service.search_parser import parse_search
from odata_service.syntax import (
    NULL,
    Call,
    Compare,
    In,
    Literal,
    Logical,
    Not,
    OrderItem,
    PropertyRef,
    SearchLogical,
    SearchNot,
    SearchTerm,
)

NAME = PropertyRef("Name")


def s(value: str) -> Literal:
    return Literal(value, "Edm.String")


def test_salesforce_search_filter():
    parsed = parse_filter("contains(Name,'Acme') eq true or contains(Phone,'Acme') eq true")
    true = Literal(True, "Edm.Boolean")
    assert parsed == Logical(
        "or",
        (
            Compare("eq", Call("contains", (NAME, s("Acme"))), true),
            Compare("eq", Call("contains", (PropertyRef("Phone"), s("Acme"))), true),
        ),
    )


def test_long_or_chains_are_flat():
    source = " or ".join(f"Id eq 'a{i}'" for i in range(300))
    parsed = parse_filter(source)
    assert isinstance(parsed, Logical) and len(parsed.operands) == 300


def test_precedence_and_parentheses():
    parsed = parse_filter("A eq 1 or B eq 2 and not (C eq 3)")
    assert isinstance(parsed, Logical) and parsed.op == "or"
    assert parsed.operands[1] == Logical(
        "and",
        (
            Compare("eq", PropertyRef("B"), Literal(2, "Edm.Int32")),
            Not(Compare("eq", PropertyRef("C"), Literal(3, "Edm.Int32"))),
        ),
    )


def test_not_takes_a_comparison():
    assert parse_filter("not Name eq 'x'") == Not(Compare("eq", NAME, s("x")))


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.5Z", datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("2024-01-02T03:04:05+01:00", datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)),
        # '+' decoded from the URL as a space
        ("2024-01-02T03:04:05 01:00", datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("datetime'2024-01-02T03:04:05'", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_unquoted_date_time_literals(source, value):
    assert parse_filter(f"Seen gt {source}") == Compare(
        "gt", PropertyRef("Seen"), Literal(value, "Edm.DateTimeOffset")
    )


def test_literals():
    assert parse_filter("Born eq 2024-02-29").right == Literal(date(2024, 2, 29), "Edm.Date")
    assert parse_filter("X eq 'O''Brien'").right == s("O'Brien")
    assert parse_filter("X eq -5").right == Literal(-5, "Edm.Int32")
    assert parse_filter("X eq 5000000000").right == Literal(5000000000, "Edm.Int64")
    assert parse_filter("X eq 1.25").right == Literal(Decimal("1.25"), "Edm.Decimal")
    assert parse_filter("X eq 1e3").right == Literal(1000.0, "Edm.Double")
    assert parse_filter("X eq null").right == Literal(None, NULL)
    assert parse_filter("X in ('a', 'b')") == In(PropertyRef("X"), (s("a"), s("b")))
    assert parse_filter("SUBSTRINGOF('a', Name)") == Call("substringof", (s("a"), NAME))


@pytest.mark.parametrize(
    "source",
    [
        "",
        "Name eq",
        "Name eq 'open",
        "(Name eq 'a'",
        "Name eq 'a')",
        "Name eq 'a' Name",
        "Name ; DROP TABLE x",
        "Born eq 2024-13-01",
        "X eq 99999999999999999999",
        "eq eq eq",
        "geo.distance eq 1",
    ],
)
def test_syntax_errors(source):
    with pytest.raises(QuerySyntaxError):
        parse_filter(source)


def test_limits():
    with pytest.raises(LimitExceeded):
        parse_filter("(" * (MAX_DEPTH + 5) + "A eq 1" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(LimitExceeded):
        parse_filter("not " * 100 + "A")
    with pytest.raises(LimitExceeded):
        parse_filter("X in (" + ",".join(["1"] * 1001) + ")")
    with pytest.raises(LimitExceeded):
        parse_filter(" and ".join(["A eq 1"] * 2000))


def test_navigation_paths_are_not_implemented():
    with pytest.raises(NotImplementedFeature):
        parse_filter("Contacts/any(c: c/Name eq 'x')")


def test_orderby():
    assert parse_orderby("Name desc, GoldenId asc,Phone") == (
        OrderItem("Name", True),
        OrderItem("GoldenId", False),
        OrderItem("Phone", False),
    )
    for bad in ("Name sideways", "tolower(Name)", "Name,", "", "Name desc desc"):
        with pytest.raises(QuerySyntaxError):
            parse_orderby(bad)


def test_keys():
    assert parse_key("'a/b'") == (None, s("a/b"))
    assert parse_key("GoldenId='x''y'") == ("GoldenId", s("x'y"))
    for bad in ("", "'a','b'", "GoldenId=", "1 eq 1"):
        with pytest.raises(QuerySyntaxError):
            parse_key(bad)


def test_search():
    assert parse_search("acme") == SearchTerm("acme")
    assert parse_search('"acme corp" OR globex') == SearchLogical(
        "OR", (SearchTerm("acme corp"), SearchTerm("globex"))
    )
    assert parse_search("NOT (a OR b) c") == SearchLogical(
        "AND",
        (SearchNot(SearchLogical("OR", (SearchTerm("a"), SearchTerm("b")))), SearchTerm("c")),
    )
    assert parse_search("+44 20") == SearchLogical("AND", (SearchTerm("+44"), SearchTerm("20")))
    for bad in ("", '"open', "(a", "a)", "OR"):
        with pytest.raises(QuerySyntaxError):
            parse_search(bad)
    with pytest.raises(LimitExceeded):
        parse_search(" ".join(["w"] * 17))
