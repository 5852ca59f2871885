"""Plans and runs read requests: the one executor between parsed requests and Postgres.

Everything here is synchronous and runs on a worker thread. A request becomes
SQLAlchemy Core over the bound model (filter, search, keyset, order, limit), then
one connection runs the page query and, when asked and not cached, the count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, Select, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from odata_service.compiler import FilterCompiler, search_predicate
from odata_service.counts import CountCache
from odata_service.edm import INTEGER_TYPES
from odata_service.errors import (
    BadRequest,
    LimitExceeded,
    NotFound,
    NotImplementedFeature,
    ODataError,
    QueryTypeError,
    ServiceUnavailable,
    UnknownProperty,
)
from odata_service.model import EntitySet, Model, Property
from odata_service.options import QueryOptions
from odata_service.paging import after, decode_token, encode_token, order_by, sort_keys
from odata_service.paths import ResourcePath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """The rows a path addresses: an entity set narrowed by key or navigation."""

    entity_set: EntitySet
    conditions: tuple[ColumnElement, ...]
    single: bool
    # A parent entity that must exist for the path to exist (404 otherwise).
    parent_check: Select | None
    identity: tuple


@dataclass(frozen=True)
class Page:
    entity_set: EntitySet
    names: tuple[str, ...]
    rows: list
    count: int | None
    next_token: str | None
    remaining_top: int | None


@dataclass(frozen=True)
class Entity:
    entity_set: EntitySet
    names: tuple[str, ...]
    row: tuple | None


class Reader:
    def __init__(self, engine: Engine, model: Model, counts: CountCache) -> None:
        self.engine = engine
        self.model = model
        self.counts = counts

    # -- planning ---------------------------------------------------------------------
    def target(self, path: ResourcePath) -> Target:
        entity_set = self.model.entity_sets.get(path.entity_set)
        if entity_set is None:
            raise NotFound(
                f"no entity set {path.entity_set!r}; the service has "
                f"{', '.join(self.model.entity_sets)}"
            )
        if path.key is None:
            return Target(entity_set, (), False, None, (entity_set.name,))
        key_value = self.key_value(entity_set, path)
        match = entity_set.key.expression == literal(key_value, entity_set.key.expression.type)
        if path.navigation is None:
            return Target(entity_set, (match,), True, None, (entity_set.name, key_value))
        nav = entity_set.navigation.get(path.navigation)
        if nav is None:
            if path.navigation in entity_set.properties:
                raise NotImplementedFeature(
                    f"individual property paths ({path.navigation}) are not supported; use $select"
                )
            raise NotFound(f"{entity_set.type_name} has no navigation property {path.navigation!r}")
        related = self.model.entity_sets[nav.target]
        conditions: list[ColumnElement] = []
        for ours, theirs in nav.on:
            our_prop, their_prop = entity_set.properties[ours], related.properties[theirs]
            if our_prop is entity_set.key:
                value = literal(key_value, their_prop.expression.type)
            else:
                value = select(our_prop.expression).where(match).scalar_subquery()
            conditions.append(their_prop.expression == value)
        for name, fixed in nav.where:
            prop = related.properties[name]
            conditions.append(prop.expression == literal(fixed, prop.expression.type))
        return Target(
            related,
            tuple(conditions),
            not nav.many,
            select(literal(1)).select_from(entity_set.table).where(match),
            (entity_set.name, key_value, nav.name),
        )

    @staticmethod
    def key_value(entity_set: EntitySet, path: ResourcePath) -> object:
        key = entity_set.key
        if path.key_name is not None and path.key_name != key.name:
            raise BadRequest(f"{entity_set.type_name}'s key is {key.name}, not {path.key_name}")
        assert path.key is not None
        literal_type = path.key.type
        if literal_type != key.edm_type and not {literal_type, key.edm_type} <= INTEGER_TYPES:
            raise QueryTypeError(
                f"key of {entity_set.name} is {key.edm_type}; "
                f"write it as {entity_set.name}('value')"
                if key.edm_type == "Edm.String"
                else f"key of {entity_set.name} is {key.edm_type}"
            )
        return path.key.value

    @staticmethod
    def selected(
        entity_set: EntitySet, select_names: tuple[str, ...] | None
    ) -> tuple[Property, ...]:
        if select_names is None or "*" in select_names:
            return tuple(entity_set.properties.values())
        props = []
        for name in select_names:
            prop = entity_set.prop(name)
            if prop is None:
                if name in entity_set.navigation:
                    raise NotImplementedFeature(
                        f"$select: navigation property {name} cannot be selected ($expand is "
                        "not supported)",
                        target="$select",
                    )
                raise UnknownProperty(
                    f"$select: {entity_set.type_name} has no property {name!r}; "
                    f"properties: {', '.join(entity_set.properties)}",
                    target="$select",
                )
            props.append(prop)
        return tuple(props)

    @staticmethod
    def where(target: Target, options: QueryOptions) -> list[ColumnElement]:
        clauses = list(target.conditions)
        if options.filter is not None:
            clauses.append(FilterCompiler(target.entity_set).predicate(options.filter))
        if options.search is not None:
            clauses.append(search_predicate(target.entity_set, options.search))
        return clauses

    # -- execution --------------------------------------------------------------------
    def read(
        self, path: ResourcePath, options: QueryOptions, page_size: int
    ) -> Page | Entity | int:
        target = self.target(path)
        try:
            if path.count:
                return self._count_only(target, options)
            if target.single:
                return self._entity(target, options)
            return self._page(target, options, page_size)
        except DBAPIError as exc:
            translated = translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _count_only(self, target: Target, options: QueryOptions) -> int:
        if target.single:
            raise BadRequest("/$count applies to collections only")
        where = self.where(target, options)
        with self.engine.connect() as conn:
            self._check_parent(conn, target)
            return self._count(conn, target, options, where)

    def _entity(self, target: Target, options: QueryOptions) -> Entity:
        props = self.selected(target.entity_set, options.select)
        statement = (
            select(*(p.expression for p in props))
            .select_from(target.entity_set.table)
            .where(*target.conditions)
            .limit(1)
        )
        with self.engine.connect() as conn:
            self._check_parent(conn, target)
            row = conn.execute(statement).first()
        if row is None and target.parent_check is None:
            raise NotFound(f"no {target.entity_set.type_name} with key {target.identity[-1]!r}")
        return Entity(target.entity_set, tuple(p.name for p in props), row)

    def _page(self, target: Target, options: QueryOptions, page_size: int) -> Page:
        entity_set = target.entity_set
        props = self.selected(entity_set, options.select)
        where = self.where(target, options)
        keys = sort_keys(entity_set, options.orderby)
        # Sort values the client did not select still travel in the row, for the token.
        extra = [k.prop for k in keys if all(k.prop is not p for p in props)]
        columns = [*props, *extra]
        positions = [next(i for i, p in enumerate(columns) if p is k.prop) for k in keys]
        skip = options.skip or 0
        page_where = list(where)
        if options.skiptoken is not None:
            page_where.append(after(keys, decode_token(entity_set, keys, options.skiptoken)))
            skip = 0
        top = options.top
        paged = top is None or top > page_size
        statement = (
            select(*(p.expression for p in columns))
            .select_from(entity_set.table)
            .where(*page_where)
            .limit(page_size + 1 if paged else top)
        )
        # Always a total order (the requested keys, then the entity key): Salesforce
        # pages with $top then $skip, and pages must line up whatever was asked first.
        statement = statement.order_by(*order_by(keys))
        if skip:
            statement = statement.offset(skip)
        with self.engine.connect() as conn:
            self._check_parent(conn, target)
            rows = conn.execute(statement).all()
            count = self._count(conn, target, options, where) if options.count else None
        next_token = remaining = None
        if paged and len(rows) > page_size:
            rows = rows[:page_size]
            last = rows[-1]
            next_token = encode_token(entity_set, keys, tuple(last[i] for i in positions))
            remaining = None if top is None else top - page_size
        return Page(entity_set, tuple(p.name for p in props), rows, count, next_token, remaining)

    def _count(self, conn, target: Target, options: QueryOptions, where: list) -> int:
        statement = select(func.count()).select_from(target.entity_set.table).where(*where)
        key = (*target.identity, options.raw.get("$filter"), options.raw.get("$search"))
        return self.counts.get(key, lambda: conn.execute(statement).scalar_one())

    @staticmethod
    def _check_parent(conn, target: Target) -> None:
        if target.parent_check is not None and conn.execute(target.parent_check).first() is None:
            raise NotFound(f"{target.identity[0]}({target.identity[1]!r}) does not exist")


def translate(exc: DBAPIError) -> ODataError | DBAPIError:
    """A database error as the client should see it; unexpected ones stay 500s."""
    code = getattr(exc.orig, "pgcode", None) or ""
    diag = getattr(exc.orig, "diag", None)
    detail = getattr(diag, "message_primary", None) or "error"
    if code == "57014":
        return ServiceUnavailable(
            "the query took too long and was cancelled; narrow the $filter or $search"
        )
    if code.startswith("22"):
        return BadRequest(f"the database rejected a value in the request: {detail}")
    if code in ("54001", "54000"):
        return LimitExceeded(f"the query is too complex: {detail}")
    if exc.connection_invalidated or code.startswith("08") or code.startswith("57"):
        return ServiceUnavailable("the database is unavailable; try again shortly")
    log.error("database error %s: %s", code, detail)
    return exc
