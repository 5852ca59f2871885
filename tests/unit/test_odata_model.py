"""Binding the declaration to database types, on a literal catalogue (no database).

The small `Things` entity set defined here is also used by the other OData unit tests.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from odata_service.metadata import csdl_xml
from odata_service.model import ColumnInfo, EntitySet, SchemaMismatch, bind_model
from odata_service.schema import EntitySetDecl, Prop


def _col(data_type: str, nullable: bool = True, length: int | None = None) -> ColumnInfo:
    precision = 6 if data_type.startswith("timestamp") else None
    return ColumnInfo(data_type, nullable, length, None, None, precision)


DECLARATION = EntitySetDecl(
    name="Things",
    type_name="Thing",
    schema="s",
    table="thing",
    key="Id",
    properties=(
        Prop("Id", "id"),
        Prop("Name", "name"),
        Prop("Phone", "phone"),
        Prop("Size", "size"),
        Prop("Big", "big"),
        Prop("Price", "price"),
        Prop("Active", "active"),
        Prop("Born", "born"),
        Prop("Seen", "seen"),
        Prop("Stamp", "stamp"),
        Prop("Pair", parts=("a", "b")),
    ),
    searchable=("Name", "Phone"),
)
CATALOGUE = {
    ("s", "thing"): {
        "id": _col("character varying", False, 18),
        "name": _col("character varying", False, 255),
        "phone": _col("character varying", True, 40),
        "size": _col("integer"),
        "big": _col("bigint"),
        "price": _col("double precision"),
        "active": _col("boolean"),
        "born": _col("date"),
        "seen": _col("timestamp with time zone"),
        "stamp": _col("timestamp without time zone"),
        "a": _col("character varying", False, 16),
        "b": _col("character varying", False, 18),
    }
}


def things() -> EntitySet:
    return bind_model(CATALOGUE, [DECLARATION]).entity_sets["Things"]


def sql_of(clause) -> tuple[str, dict]:
    """The SQL Postgres would receive (with placeholders) and its bound parameters."""
    compiled = select(clause).compile(dialect=postgresql.psycopg2.dialect())
    return str(compiled), dict(compiled.params)


def test_types_lengths_and_nullability_come_from_the_catalogue():
    entity_set = things()
    assert entity_set.key.name == "Id" and not entity_set.key.nullable
    name, phone = entity_set.properties["Name"], entity_set.properties["Phone"]
    assert (name.edm_type, name.max_length, name.nullable) == ("Edm.String", 255, False)
    assert (phone.max_length, phone.nullable) == (40, True)
    assert entity_set.properties["Big"].edm_type == "Edm.Int64"
    assert entity_set.properties["Stamp"].naive_utc
    assert not entity_set.properties["Seen"].naive_utc
    # The joined key: both parts and the separator.
    assert entity_set.properties["Pair"].max_length == 16 + 1 + 18


def test_metadata_of_the_bound_model():
    xml = csdl_xml(bind_model(CATALOGUE, [DECLARATION])).decode()
    assert '<PropertyRef Name="Id" />' in xml
    assert '<Property Name="Seen" Type="Edm.DateTimeOffset" Precision="6" />' in xml
    assert '<EntitySet Name="Things" EntityType="org360.Thing" />' in xml


def test_what_the_database_lacks_stops_the_service():
    with pytest.raises(SchemaMismatch, match="not found"):
        bind_model({}, [DECLARATION])
    partial = {("s", "thing"): {k: v for k, v in CATALOGUE[("s", "thing")].items() if k != "b"}}
    with pytest.raises(SchemaMismatch, match="missing column"):
        bind_model(partial, [DECLARATION])
    odd = {("s", "thing"): {**CATALOGUE[("s", "thing")], "phone": _col("jsonb")}}
    with pytest.raises(SchemaMismatch, match="jsonb"):
        bind_model(odd, [DECLARATION])
