"""The declaration bound to the database: Edm types and SQLAlchemy columns.

Types, lengths and nullability are read from the catalogue once, at startup, so a
migration that widens a column changes `$metadata` without touching this package.
Only the declared columns get a SQLAlchemy `Column`; the compiler can only reach
what is here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Engine,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from odata_service.edm import BOOLEAN, DATE, DATETIMEOFFSET, DECIMAL, DOUBLE, INT32, INT64, STRING
from odata_service.schema import ENTITY_SETS, EntitySetDecl

KEY_SEPARATOR = "/"


class SchemaMismatch(RuntimeError):
    """The database does not have what the declaration exposes; the service cannot start."""


# Identity equality: properties hold SQL expressions, whose `==` builds SQL.
@dataclass(frozen=True, eq=False)
class Property:
    name: str
    edm_type: str
    nullable: bool
    expression: ColumnElement
    max_length: int | None = None
    precision: int | None = None
    scale: int | str | None = None
    # `timestamp without time zone` columns hold UTC: literals compared with them are
    # made naive so the comparison stays on the column's type (and its index).
    naive_utc: bool = False


@dataclass(frozen=True)
class Navigation:
    name: str
    target: str
    many: bool
    on: tuple[tuple[str, str], ...]
    where: tuple[tuple[str, str], ...]
    partner: str | None


@dataclass(frozen=True, eq=False)
class EntitySet:
    name: str
    type_name: str
    table: Table
    key: Property
    properties: Mapping[str, Property]
    searchable: tuple[Property, ...]
    navigation: Mapping[str, Navigation]
    # Property name -> its source in the word index ("<table>.<column>").
    word_sources: Mapping[str, str]

    def prop(self, name: str) -> Property | None:
        return self.properties.get(name)


@dataclass(frozen=True)
class Model:
    entity_sets: Mapping[str, EntitySet]


@dataclass(frozen=True)
class ColumnInfo:
    data_type: str
    nullable: bool
    length: int | None
    precision: int | None
    scale: int | None
    datetime_precision: int | None


Catalogue = dict[tuple[str, str], dict[str, ColumnInfo]]

_CATALOGUE = text(
    "SELECT table_schema, table_name, column_name, data_type, is_nullable,"
    " character_maximum_length, numeric_precision, numeric_scale, datetime_precision"
    " FROM information_schema.columns WHERE table_schema = ANY(:schemas)"
)


def load_model(engine: Engine, declarations: Iterable[EntitySetDecl] = ENTITY_SETS) -> Model:
    """Read the catalogue once and bind the declaration to it."""
    declarations = tuple(declarations)
    schemas = sorted({d.schema for d in declarations})
    catalogue: Catalogue = {}
    with engine.connect() as conn:
        for row in conn.execute(_CATALOGUE, {"schemas": schemas}):
            info = ColumnInfo(
                data_type=row.data_type,
                nullable=row.is_nullable == "YES",
                length=row.character_maximum_length,
                precision=row.numeric_precision,
                scale=row.numeric_scale,
                datetime_precision=row.datetime_precision,
            )
            catalogue.setdefault((row.table_schema, row.table_name), {})[row.column_name] = info
    return bind_model(catalogue, declarations)


def bind_model(catalogue: Catalogue, declarations: Iterable[EntitySetDecl] = ENTITY_SETS) -> Model:
    """The model for a catalogue of (schema, table) -> column -> ColumnInfo."""
    sets = {d.name: _bind(d, catalogue.get((d.schema, d.table), {})) for d in declarations}
    return Model(entity_sets=sets)


def _bind(decl: EntitySetDecl, found: dict[str, ColumnInfo]) -> EntitySet:
    where = f"entity set {decl.name} ({decl.schema}.{decl.table})"
    if not found:
        raise SchemaMismatch(f"{where}: table or view not found; run `org360 db migrate`")
    needed = {c for p in decl.properties for c in ((p.column,) if p.column else p.parts)}
    missing = sorted(needed - set(found))
    if missing:
        raise SchemaMismatch(f"{where}: missing column(s) {', '.join(missing)}")
    sa_types = {name: _sa_type(found[name], f"{where}, column {name}") for name in needed}
    table = Table(
        decl.table,
        MetaData(),
        *(Column(name, sa_types[name]) for name in sorted(needed)),
        schema=decl.schema,
    )
    properties: dict[str, Property] = {}
    for prop in decl.properties:
        is_key = prop.name == decl.key
        if prop.column:
            properties[prop.name] = _property(
                prop.name, found[prop.column], table.c[prop.column], is_key
            )
        else:
            properties[prop.name] = _joined_key(prop.name, prop.parts, found, table, is_key)
    if decl.key not in properties:
        raise SchemaMismatch(f"{where}: key {decl.key} is not a declared property")
    navigation = {
        nav.name: Navigation(nav.name, nav.target, nav.many, nav.on, nav.where, nav.partner)
        for nav in decl.navigation
    }
    return EntitySet(
        name=decl.name,
        type_name=decl.type_name,
        table=table,
        key=properties[decl.key],
        properties=properties,
        searchable=tuple(properties[name] for name in decl.searchable),
        navigation=navigation,
        word_sources=_word_sources(decl, where),
    )


def _word_sources(decl: EntitySetDecl, where: str) -> dict[str, str]:
    columns = {p.name: p.column for p in decl.properties}
    key_column = columns.get(decl.key)
    sources = {}
    for name in decl.word_indexed:
        column = columns.get(name)
        if column is None or key_column != "golden_id":
            raise SchemaMismatch(
                f"{where}: word index on {name} needs a plain column and the key golden_id"
            )
        sources[name] = f"{decl.table}.{column}"
    return sources


def _property(name: str, info: ColumnInfo, column: ColumnElement, is_key: bool) -> Property:
    edm = _edm_type(info)
    nullable = info.nullable and not is_key
    if edm == STRING:
        return Property(name, edm, nullable, column, max_length=info.length)
    if edm == DECIMAL:
        # An unconstrained numeric has no fixed scale; CSDL says so with "variable".
        scale = info.scale if info.precision is not None else "variable"
        return Property(name, edm, nullable, column, precision=info.precision, scale=scale)
    if edm == DATETIMEOFFSET:
        return Property(
            name,
            edm,
            nullable,
            column,
            precision=info.datetime_precision,
            naive_utc=info.data_type == "timestamp without time zone",
        )
    return Property(name, edm, nullable, column)


def _joined_key(
    name: str, parts: tuple[str, ...], found: dict[str, ColumnInfo], table: Table, is_key: bool
) -> Property:
    for part in parts:
        if _edm_type(found[part]) != STRING:
            raise SchemaMismatch(f"{name}: part {part} is not a string column")
    expression: ColumnElement = table.c[parts[0]]
    for part in parts[1:]:
        # The literal separator (not a bind parameter) keeps the SQL identical to the
        # expression index in migration 0020, so the planner can use it.
        expression = expression + literal_column(f"'{KEY_SEPARATOR}'") + table.c[part]
    lengths = [found[p].length for p in parts]
    max_length = None if None in lengths else sum(lengths) + len(parts) - 1  # type: ignore[arg-type]
    nullable = not is_key and any(found[p].nullable for p in parts)
    return Property(name, STRING, nullable, expression, max_length=max_length)


_EDM_BY_DATA_TYPE = {
    "character varying": STRING,
    "character": STRING,
    "text": STRING,
    "smallint": INT32,
    "integer": INT32,
    "bigint": INT64,
    "double precision": DOUBLE,
    "real": DOUBLE,
    "numeric": DECIMAL,
    "boolean": BOOLEAN,
    "date": DATE,
    "timestamp with time zone": DATETIMEOFFSET,
    "timestamp without time zone": DATETIMEOFFSET,
}


def _edm_type(info: ColumnInfo) -> str:
    try:
        return _EDM_BY_DATA_TYPE[info.data_type]
    except KeyError:
        raise SchemaMismatch(
            f"database type {info.data_type!r} has no Edm type that Salesforce Connect maps"
        ) from None


def _sa_type(info: ColumnInfo, where: str) -> TypeEngine:
    data_type = info.data_type
    if data_type in ("character varying", "character", "text"):
        return String(info.length)
    if data_type == "smallint":
        return SmallInteger()
    if data_type == "integer":
        return Integer()
    if data_type == "bigint":
        return BigInteger()
    if data_type in ("double precision", "real"):
        return Double()
    if data_type == "numeric":
        return Numeric(info.precision, info.scale)
    if data_type == "boolean":
        return Boolean()
    if data_type == "date":
        return Date()
    if data_type.startswith("timestamp"):
        return DateTime(timezone=data_type == "timestamp with time zone")
    raise SchemaMismatch(f"{where}: type {data_type!r} cannot be exposed over OData")
