"""Plans and runs read requests: the one executor between parsed requests and Postgres.

A request becomes a `Plan`: SQLAlchemy Core over the bound model (filter, search,
keyset, order, limit), built without touching the database, so identical requests can
share it. `run` executes a plan on a worker thread: one connection runs the page query
and, when asked and not cached, the count.
Connections are in autocommit: every request is one or two statements that read,
and in READ COMMITTED a transaction around them would add two round trips (BEGIN,
ROLLBACK) without giving them a common snapshot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine, Select, func, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from odata_service.compiler import FilterCompiler, search_predicate, trigram_search
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
from odata_service.paging import (
    SortKey,
    after,
    decode_token,
    encode_token,
    order_by,
    sort_keys,
)
from odata_service.paths import ResourcePath
from odata_service.word_search import KEY, Keys, matching_keys

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


PAGE, ENTITY, COUNT = "page", "entity", "count"


@dataclass(eq=False)
class Plan:
    """What a request reads, as statements ready to run; built once per distinct request."""

    target: Target
    kind: str
    count_key: tuple | None
    where: list[ColumnElement]
    statement: Select | None = None
    names: tuple[str, ...] = ()
    keys: tuple[SortKey, ...] = ()
    positions: tuple[int, ...] = ()
    page_size: int = 0
    top: int | None = None
    # With $filter or $search: the cost depends on the data (see app.py).
    filtered: bool = False
    # The matching keys, when the word index answers the request (see word_search.py).
    matching: Keys | None = None

    @property
    def paged(self) -> bool:
        return self.top is None or self.top > self.page_size

    @cached_property
    def count_statement(self) -> Select:
        # Built on first use: most requests find their count in the cache.
        if self.matching is not None:
            return select(func.count()).select_from(self.matching.subquery())
        return select(func.count()).select_from(self.target.entity_set.table).where(*self.where)

    def count(self, conn) -> int:
        return conn.execute(self.count_statement).scalar_one()


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

    def plan(self, path: ResourcePath, options: QueryOptions, page_size: int) -> Plan:
        """The statements a request needs. Pure: identical requests can share a plan."""
        target = self.target(path)
        if path.count:
            if target.single:
                raise BadRequest("/$count applies to collections only")
            return Plan(
                target,
                COUNT,
                self._count_key(target, options),
                self.where(target, options),
                matching=self._matching(target, options, sort_keys(target.entity_set, ())),
            )
        props = self.selected(target.entity_set, options.select)
        names = tuple(p.name for p in props)
        if target.single:
            statement = (
                select(*(p.expression for p in props))
                .select_from(target.entity_set.table)
                .where(*target.conditions)
                .limit(1)
            )
            return Plan(target, ENTITY, None, [], statement=statement, names=names)
        return self._page_plan(target, options, page_size, props, names)

    def _page_plan(
        self,
        target: Target,
        options: QueryOptions,
        page_size: int,
        props: tuple[Property, ...],
        names: tuple[str, ...],
    ) -> Plan:
        entity_set = target.entity_set
        where = self.where(target, options)
        keys = sort_keys(entity_set, options.orderby)
        # Sort values the client did not select still travel in the row, for the token.
        extra = [k.prop for k in keys if all(k.prop is not p for p in props)]
        columns = [*props, *extra]
        positions = tuple(next(i for i, p in enumerate(columns) if p is k.prop) for k in keys)
        skip = options.skip or 0
        after_token = None
        if options.skiptoken is not None:
            after_token = decode_token(entity_set, keys, options.skiptoken)
            skip = 0
        top = options.top
        paged = top is None or top > page_size
        limit = page_size + 1 if paged else top
        matching = self._matching(target, options, keys)
        if matching is not None:
            statement = self._keyed_page(entity_set, columns, matching, after_token, limit, skip)
        else:
            page_where = list(where)
            if after_token is not None:
                page_where.append(after(keys, after_token))
            statement = self._scanned_page(
                options, entity_set, page_where, keys, columns, positions
            )
            statement = statement.limit(limit)
            if skip:
                statement = statement.offset(skip)
        count_key = self._count_key(target, options) if options.count else None
        return Plan(
            target,
            PAGE,
            count_key,
            where,
            statement=statement,
            names=names,
            keys=keys,
            positions=positions,
            page_size=page_size,
            top=top,
            filtered=options.filter is not None or options.search is not None,
            matching=matching,
        )

    @staticmethod
    def _matching(target: Target, options: QueryOptions, keys: tuple[SortKey, ...]) -> Keys | None:
        if target.conditions or keys != (SortKey(target.entity_set.key),):
            return None
        return matching_keys(target.entity_set, options.filter, options.search)

    @staticmethod
    def _keyed_page(
        entity_set: EntitySet,
        columns: list[Property],
        matching: Keys,
        after_token: tuple | None,
        limit: int,
        skip: int,
    ) -> Select:
        """The page's keys from the word index first, then only their rows from the table."""
        found = matching.subquery("found")
        key = entity_set.key.expression
        page_keys = select(found.c[KEY]).order_by(found.c[KEY]).limit(limit)
        if after_token is not None:
            page_keys = page_keys.where(found.c[KEY] > literal(after_token[0], key.type))
        if skip:
            page_keys = page_keys.offset(skip)
        chosen = page_keys.cte("page_keys").prefix_with("MATERIALIZED")
        return (
            select(*(p.expression.label(f"c{i}") for i, p in enumerate(columns)))
            .select_from(entity_set.table.join(chosen, key == chosen.c[KEY]))
            .order_by(key)
        )

    @staticmethod
    def _scanned_page(
        options: QueryOptions,
        entity_set: EntitySet,
        where: list[ColumnElement],
        keys: tuple[SortKey, ...],
        columns: list[Property],
        positions: tuple[int, ...],
    ) -> Select:
        """The page read from the table itself, through whatever index the planner picks."""
        statement = (
            select(*(p.expression.label(f"c{i}") for i, p in enumerate(columns)))
            .select_from(entity_set.table)
            .where(*where)
        )
        # Always a total order (the requested keys, then the entity key): Salesforce
        # pages with $top then $skip, and pages must line up whatever was asked first.
        if not trigram_search(options.filter, options.search):
            return statement.order_by(*order_by(keys))
        # The planner cannot tell how many rows a text search matches: with a
        # statistics sample of 100 values, one sampled phone number that holds
        # '90651' makes it expect 10,000 rows, and it then walks the key's index,
        # filtering, through the whole table for 20 real matches (1.2 s). Found
        # through the trigram indexes first and sorted after, a search costs what it
        # matches; a term found in most rows costs one pass over the table.
        found = statement.cte("found").prefix_with("MATERIALIZED")
        return select(*found.c).order_by(*order_by(keys, [found.c[i] for i in positions]))

    @staticmethod
    def _count_key(target: Target, options: QueryOptions) -> tuple:
        return (*target.identity, options.raw.get("$filter"), options.raw.get("$search"))

    # -- execution --------------------------------------------------------------------
    def run(self, plan: Plan) -> Page | Entity | int:
        try:
            with self.engine.connect() as conn:
                self._check_parent(conn, plan.target)
                if plan.kind == COUNT:
                    return self._count(conn, plan)
                if plan.kind == ENTITY:
                    return self._entity(conn, plan)
                return self._page(conn, plan)
        except DBAPIError as exc:
            translated = translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    def _entity(self, conn, plan: Plan) -> Entity:
        assert plan.statement is not None
        row = conn.execute(plan.statement).first()
        target = plan.target
        if row is None and target.parent_check is None:
            raise NotFound(f"no {target.entity_set.type_name} with key {target.identity[-1]!r}")
        return Entity(target.entity_set, plan.names, row)

    def _page(self, conn, plan: Plan) -> Page:
        assert plan.statement is not None
        rows = conn.execute(plan.statement).all()
        count = self._count(conn, plan) if plan.count_key is not None else None
        next_token = remaining = None
        if plan.paged and len(rows) > plan.page_size:
            rows = rows[: plan.page_size]
            last = rows[-1]
            next_token = encode_token(
                plan.target.entity_set, plan.keys, tuple(last[i] for i in plan.positions)
            )
            remaining = None if plan.top is None else plan.top - plan.page_size
        return Page(plan.target.entity_set, plan.names, rows, count, next_token, remaining)

    def _count(self, conn, plan: Plan) -> int:
        assert plan.count_key is not None
        return self.counts.get(plan.count_key, plan.count, conn)

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
