import pytest

from archive_service.sfid import checksum, to_18


@pytest.mark.parametrize(
    ("id15", "id18"),
    [("0015000000Gv7qJ", "0015000000Gv7qJAAR"), ("001A0000006Vm9r", "001A0000006Vm9rIAC")],
)
def test_fifteen_character_ids_get_salesforces_suffix(id15, id18):
    assert checksum(id15) == id18[15:]
    assert to_18(id15) == id18
    assert to_18(id18) == id18


def test_the_suffix_is_case_insensitive_but_the_id_is_not():
    assert to_18("0015000000Gv7qJaar") == "0015000000Gv7qJAAR"
    assert to_18("0015000000gv7qjAAR") is None  # a different record's id with this suffix


@pytest.mark.parametrize(
    "value", ["", "001", "0015000000Gv7qJA", "0015000000Gv7qJAAR1", "0015000000Gv7q-AAR", "é" * 15]
)
def test_anything_else_is_not_an_id(value):
    assert to_18(value) is None
