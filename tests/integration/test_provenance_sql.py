"""Provenance as the golden builds write it: one jsonb object, built as text."""

from __future__ import annotations

from warehouse.survivorship import _provenance_json

SOURCE = """'{"org": "emea", "sfid": "001Em0000000000001"}'"""


def test_provenance_of_many_fields_keeps_every_source_and_leaves_out_the_missing(engine):
    # More pairs than one function call takes arguments, the first chunk's all missing.
    present = {f"field_{i}" for i in range(100, 250) if i % 3}
    pairs = [(f"field_{i}", SOURCE if f"field_{i}" in present else "NULL") for i in range(250)]
    with engine.connect() as conn:
        value = conn.exec_driver_sql(f"SELECT {_provenance_json(pairs)}").scalar_one()
        nothing = conn.exec_driver_sql(
            f"SELECT {_provenance_json([('name', 'NULL'), ('phone', 'NULL')])}"
        ).scalar_one()
    assert set(value) == present
    assert value["field_101"] == {"org": "emea", "sfid": "001Em0000000000001"}
    assert nothing == {}
