from datetime import UTC, datetime

import pytest

from odata_service.compiler import FilterCompiler, search_predicate, trigram_search
from odata_service.errors import (
    NotImplementedFeature,
    QuerySyntaxError,
    QueryTypeError,
    UnknownProperty,
)
from odata_service.filter_parser import parse_filter
from odata_service.search_parser import parse_search
from tests.unit.test_odata_model import sql_of, things


def compile_filter(source: str) -> tuple[str, dict]:
    return sql_of(FilterCompiler(things()).predicate(parse_filter(source)))


def test_values_are_bound_parameters():
    sql, params = compile_filter("Name eq 'x''; DROP TABLE s.thing; --'")
    assert "DROP" not in sql
    assert "s.thing.name = %(param_1)s" in sql
    assert params == {"param_1": "x'; DROP TABLE s.thing; --"}


def test_search_shape_keeps_the_bare_ilike_for_trigram_indexes():
    sql, params = compile_filter(
        "contains(Name,'Ac%me_') eq true or contains(Phone,'Acme') eq true"
    )
    assert sql.count("ILIKE") == 2 and "coalesce" not in sql
    assert params["name_1"] == "%Ac\\%me\\_%"


def test_ne_keeps_nulls_and_not_is_two_valued():
    sql, _ = compile_filter("Phone ne '1'")
    assert "IS DISTINCT FROM" in sql
    sql, _ = compile_filter("not (Phone eq '1')")
    assert "NOT coalesce(s.thing.phone = %(param_1)s, false)" in sql


def test_null_comparisons():
    assert "s.thing.phone IS NULL" in compile_filter("Phone eq null")[0]
    assert "s.thing.phone IS NOT NULL" in compile_filter("null ne Phone")[0]
    assert "false" in compile_filter("Size gt null")[0]


def test_boolean_comparisons():
    assert "s.thing.active IS false" in compile_filter("Active eq false")[0]
    assert "s.thing.active IS NOT true" in compile_filter("Active ne true")[0]
    sql, _ = compile_filter("startswith(Name,'a') eq false")
    assert "ILIKE" in sql and "IS false" in sql


def test_naive_timestamp_literals_are_made_naive():
    _, params = compile_filter("Stamp ge 2024-01-02T03:00:00+01:00")
    assert params["param_1"] == datetime(2024, 1, 2, 2, 0)
    _, params = compile_filter("Seen ge 2024-01-02")
    assert params["param_1"] == datetime(2024, 1, 2, tzinfo=UTC)


def test_functions():
    assert "lower(s.thing.name)" in compile_filter("tolower(Name) eq 'a'")[0]
    assert "EXTRACT(year FROM s.thing.born)" in compile_filter("year(Born) eq 2020")[0]
    assert "char_length" in compile_filter("length(Name) gt 3")[0]
    assert "strpos" in compile_filter("indexof(Name,'b') eq 1")[0]
    sql, params = compile_filter("substring(Name,1,2) eq 'bc'")
    assert "substr(s.thing.name" in sql and 2 in params.values()
    assert "||" in compile_filter("concat(Name,Phone) eq 'ab'")[0]
    assert "ILIKE" in compile_filter("substringof('x',Name)")[0]
    assert "s.thing.size + " in compile_filter("Size add 1 gt 2")[0]


def test_in_with_null():
    sql, params = compile_filter("Phone in ('1', null)")
    assert "IN (__[POSTCOMPILE_" in sql and "IS NULL" in sql
    assert params["phone_1"] == ["1"]


def test_joined_key_is_the_indexed_expression():
    sql, _ = compile_filter("Pair eq 'x/y'")
    assert "(s.thing.a || '/' || s.thing.b) = %(param_1)s" in sql


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Name gt 5", QueryTypeError),
        ("Size eq 'five'", QueryTypeError),
        ("Active eq 1", QueryTypeError),
        ("Name", QueryTypeError),
        ("Size add Name gt 1", QueryTypeError),
        ("Size div 0 gt 1", QueryTypeError),
        ("contains(Size,'1')", QueryTypeError),
        ("contains(Name)", QueryTypeError),
        ("hour(Born) eq 1", QueryTypeError),
        ("Name in (1, 2)", QueryTypeError),
        ("Missing eq 1", UnknownProperty),
        ("nosuch(Name) eq 1", QuerySyntaxError),
        ("cast(Name, Edm.String) eq 'a'", NotImplementedFeature),
        ("Name has 'a'", NotImplementedFeature),
    ],
)
def test_errors(source, error):
    with pytest.raises(error):
        compile_filter(source)


def test_search_covers_searchable_columns():
    sql, params = sql_of(search_predicate(things(), parse_search("acme NOT corp")))
    assert sql.count("ILIKE") == 4
    assert "NOT coalesce" in sql
    assert sorted(params.values()) == ["%acme%", "%acme%", "%corp%", "%corp%"]


@pytest.mark.parametrize(
    ("filter_source", "search_source", "expected"),
    [
        ("contains(Name,'acme') eq true or contains(Phone,'4567') eq true", None, True),
        ("startswith(Name,'Acm') and Size gt 3", None, True),
        ("substringof('acme',Name)", None, True),
        (None, "acme OR globex", True),
        # Shorter than a trigram: the index cannot narrow the rows.
        ("contains(Name,'ac') eq true or contains(Phone,'4567') eq true", None, False),
        (None, "ab", False),
        # Negated terms and non-literal matches are not searched through an index.
        ("not contains(Name,'acme')", None, False),
        (None, "NOT acme", False),
        ("contains(Name,Phone)", None, False),
        ("Name eq 'acme'", None, False),
        (None, None, False),
    ],
)
def test_trigram_search_is_recognised(filter_source, search_source, expected):
    parsed_filter = parse_filter(filter_source) if filter_source else None
    parsed_search = parse_search(search_source) if search_source else None
    assert trigram_search(parsed_filter, parsed_search) is expected
