from datetime import UTC, datetime

import pytest

from odata_service.errors import InvalidSkipToken, QuerySyntaxError
from odata_service.paging import after, decode_token, encode_token, sort_keys
from odata_service.syntax import OrderItem
from tests.unit.test_odata_model import sql_of, things


def test_key_is_the_tie_breaker():
    keys = sort_keys(things(), (OrderItem("Name", True),))
    assert [(k.prop.name, k.descending) for k in keys] == [("Name", True), ("Id", False)]
    assert len(sort_keys(things(), (OrderItem("Id"), OrderItem("Id", True)))) == 1
    with pytest.raises(QuerySyntaxError):
        sort_keys(things(), (OrderItem("Nope"),))


def test_non_nullable_keys_use_one_row_comparison():
    keys = sort_keys(things(), (OrderItem("Name"),))
    sql, params = sql_of(after(keys, ("Acme", "X1")))
    assert "(s.thing.name, s.thing.id) > (%(param_1)s, %(param_2)s)" in sql
    assert params == {"param_1": "Acme", "param_2": "X1"}


def test_nullable_keys_follow_postgres_null_order():
    ascending = sort_keys(things(), (OrderItem("Phone"),))
    sql, _ = sql_of(after(ascending, ("5", "X1")))
    assert "s.thing.phone > %(param_1)s OR s.thing.phone IS NULL" in sql
    sql, _ = sql_of(after(ascending, (None, "X1")))
    assert "s.thing.phone IS NULL AND s.thing.id > " in sql
    descending = sort_keys(things(), (OrderItem("Phone", True),))
    sql, _ = sql_of(after(descending, (None, "X1")))
    assert "s.thing.phone IS NOT NULL" in sql


def test_tokens_round_trip_typed_values():
    entity_set = things()
    keys = sort_keys(entity_set, (OrderItem("Seen", True), OrderItem("Stamp"), OrderItem("Size")))
    values = (datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2024, 1, 1), None, "k")
    token = encode_token(entity_set, keys, values)
    assert decode_token(entity_set, keys, token) == values


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", "W10", "WyJ4IixbXV0", "A" * 5000])
def test_bad_tokens_are_rejected(token):
    keys = sort_keys(things(), ())
    with pytest.raises(InvalidSkipToken):
        decode_token(things(), keys, token)


def test_token_of_another_order_or_with_wrong_types_is_rejected():
    entity_set = things()
    by_name = sort_keys(entity_set, (OrderItem("Name"),))
    by_size = sort_keys(entity_set, (OrderItem("Size"),))
    token = encode_token(entity_set, by_name, ("a", "k"))
    with pytest.raises(InvalidSkipToken):
        decode_token(entity_set, by_size, token)
    forged = encode_token(entity_set, by_size, ("not a number", "k"))
    with pytest.raises(InvalidSkipToken):
        decode_token(entity_set, by_size, forged)
    null_key = encode_token(entity_set, by_name, ("a", None))
    with pytest.raises(InvalidSkipToken):
        decode_token(entity_set, by_name, null_key)
