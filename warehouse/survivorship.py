"""Golden records by survivorship, for any object of the catalogue.

Per field: the first non-null value in member order, where members are ordered by
org priority (lower wins), then recency (systemmodstamp), then completeness. A
block of fields (an address) survives whole, from the best member that has any of
it, so a street is never paired with another record's city. A parent link (a
contact's account) becomes the parent's golden id, from the best member whose
parent record resolved. Provenance names the org and sfid each value came from.

The golden record's `name` is its label's fields (an account's name, a contact's
first and last name) or, where its members have none, a stand-in (an e-mail, a
domain, org/sfid): never null, and provenance has none of the label's fields when
it is such a stand-in.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from core.catalogue import CATALOGUE, ObjectSpec
from core.settings import Settings
from warehouse.computed import computer_for
from warehouse.golden import changed_ids, org_priorities, rebuild_all
from warehouse.insert_time import InsertTime
from warehouse.sql import bulk_loaded, hash_joins_only, plan_for_few_rows

# A function takes at most 100 arguments: provenance's pairs are joined in chunks.
_PAIRS_PER_CONCAT = 90


@dataclass(frozen=True)
class Built:
    """Golden records written: all of them, or (incremental) the changed ones."""

    rows: int
    incremental: bool
    # What filling the computed columns reported (`warehouse.computed`), if any.
    computed: object = None


def _first_value(field: str) -> str:
    return f"(array_agg(m.{field} ORDER BY m.rank) FILTER (WHERE m.{field} IS NOT NULL))[1]"


def _best_rank(present: str) -> str:
    """The rank of the best-ranked member for which `present` holds: the position of
    its source in the golden record's `sources` (ranks count from 1 in each)."""
    return f"min(m.rank) FILTER (WHERE {present})"


def _provenance_json(pairs: list[tuple[str, str]]) -> str:
    """Provenance as one jsonb object of (key, source) pairs, where a source is the
    text of a JSON object (`{"org": ..., "sfid": ...}`) or null (no such key). Built as
    text and parsed once: a jsonb object per field and member takes several times as
    long at a million golden records."""
    if not pairs:
        return "'{}'::jsonb"
    chunks = [
        "NULLIF(concat_ws(', ', "
        + ", ".join(
            f"'{json.dumps(key)}: ' || {source}" for key, source in pairs[i : i + _PAIRS_PER_CONCAT]
        )
        + "), '')"
        for i in range(0, len(pairs), _PAIRS_PER_CONCAT)
    ]
    joined = chunks[0] if len(chunks) == 1 else f"concat_ws(', ', {', '.join(chunks)})"
    return f"CAST('{{' || COALESCE({joined}, '') || '}}' AS jsonb)"


def _one_source_provenance(present: list[tuple[str, str]], source: str) -> str:
    """Provenance naming one source (the text of its JSON, `source`) for each key whose
    condition holds (a linked object's golden record is its one record)."""
    return _provenance_json(
        [(key, f"CASE WHEN {condition} THEN {source} END") for key, condition in present]
    )


def display_name(
    spec: ObjectSpec, where: dict[str, str] | None = None, first: str = "s.first_member"
) -> str:
    """The golden record's name over the survived values (`where`: each field's; by
    default `s.<field>`, blocks `b<i>.<field>`), else `first` (org/sfid)."""
    where = where or _where_survived(spec)
    label = [where[f] for f in spec.label]
    named = label[0] if len(label) == 1 else f"NULLIF(concat_ws(' ', {', '.join(label)}), '')"
    stand_ins = [f"CAST({where[f]} AS text)" for f in spec.label_fallbacks]
    return f"COALESCE({', '.join([named, *stand_ins, first])})"


def _block_aliases(spec: ObjectSpec) -> dict[str, str]:
    """Each block's alias in the build (`b<i>`); its temp table is `block_<alias>`."""
    return {block: f"b{i}" for i, block in enumerate(spec.blocks)}


def _where_survived(spec: ObjectSpec) -> dict[str, str]:
    """Each golden field's survived value: `s.<field>`, or `b<i>.<field>` in a block."""
    blocks = _block_aliases(spec)
    return {
        f.name: f"{blocks[f.block]}.{f.name}" if f.block else f"s.{f.name}"
        for f in spec.fields
        if f.golden and not f.computed
    }


def _stage_members(conn: Connection, spec: ObjectSpec, full: bool) -> None:
    """Each golden record's members (all, or the changed records'), ranked for
    survivorship, in a temp table.

    A temp table with fresh statistics rather than a CTE: the planner then hashes
    the joins below instead of looping over a CTE for every row.
    """
    obj = spec.name
    columns = [f.name for f in spec.fields if (f.golden or f.parent) and not f.computed]
    only_changed = "" if full else f" AND x.golden_id IN {changed_ids(obj)}"
    conn.exec_driver_sql("DROP TABLE IF EXISTS members")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE members ON COMMIT DROP AS "
        "SELECT x.golden_id, u.org, u.sfid, u.systemmodstamp, p.is_main, "
        f"{''.join('u.' + c + ', ' for c in columns)}"
        # An integer: ranks index arrays of the members' values (`golden_sql`).
        "CAST(row_number() OVER (PARTITION BY x.golden_id ORDER BY p.priority, "
        "u.systemmodstamp DESC NULLS LAST, u.completeness DESC, u.org, u.sfid) AS integer) "
        "AS rank "
        f"FROM golden_next.xref x JOIN unified.{obj} u ON u.org = x.org AND u.sfid = x.sfid "
        f"JOIN org_priority p ON p.org = u.org WHERE x.object = '{obj}'{only_changed}"
    )
    conn.exec_driver_sql("ANALYZE members")


def _stage_block(conn: Connection, spec: ObjectSpec, block: str, table: str) -> None:
    """The best member with any of the block (fuller first), per golden record."""
    fields = [f for f in spec.fields if f.block == block and f.golden]
    # Derived parts (a country's code) follow the others: they alone are no address.
    parts = ", ".join(f.name for f in fields if not f.derived)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {table} ON COMMIT DROP AS "
        f"SELECT DISTINCT ON (golden_id) golden_id, rank, "
        f"{', '.join(f.name for f in fields)} "
        f"FROM members WHERE num_nonnulls({parts}) > 0 "
        f"ORDER BY golden_id, num_nonnulls({parts}) DESC, rank"
    )
    conn.exec_driver_sql(f"ANALYZE {table}")


def _clear(conn: Connection, obj: str, full: bool) -> None:
    """Empty the golden records about to be built (all, or the changed ones)."""
    if full:
        conn.exec_driver_sql(f"TRUNCATE golden_next.{obj}")
    else:
        plan_for_few_rows(conn)
        conn.exec_driver_sql(f"DELETE FROM golden_next.{obj} WHERE golden_id IN {changed_ids(obj)}")


def golden_sql(spec: ObjectSpec) -> str:
    """The INSERT that builds the object's golden records from `members` and its
    blocks' temp tables."""
    obj = spec.name
    simple = spec.golden_fields()
    where = _where_survived(spec)
    blocks = _block_aliases(spec)

    aggregates = [f"{_first_value(f)} AS {f}" for f in simple]
    # Where each value came from: its member's rank, the position of its source in
    # `sources` (one JSON text per member, not one per field and member).
    provenance = [(f, f"s.sources[s.src_{f}]") for f in simple]
    aggregates += [f"{_best_rank(f'm.{f} IS NOT NULL')} AS src_{f}" for f in simple]
    joins = []
    links = []
    for i, (field, (parent, link)) in enumerate(spec.parent_links.items()):
        alias = f"px{i}"
        joins.append(
            f"LEFT JOIN golden_next.xref {alias} ON {alias}.object = '{parent}' "
            f"AND {alias}.org = m.org AND {alias}.sfid = m.{field}"
        )
        present = f"{alias}.golden_id IS NOT NULL"
        aggregates.append(
            f"(array_agg({alias}.golden_id ORDER BY m.rank) FILTER (WHERE {present}))[1] AS {link}"
        )
        aggregates.append(f"{_best_rank(present)} AS src_parent_{i}")
        provenance.append((parent, f"s.sources[s.src_parent_{i}]"))
        links.append(link)
    # A block's source: the member its values came from (`_stage_block`).
    provenance += [(block, f"s.sources[{alias}.rank]") for block, alias in blocks.items()]

    columns = [f.name for f in spec.fields if f.golden and not f.computed]
    values = [where[c] for c in columns]
    if not spec.resolved:
        # One member each: the source record itself.
        columns += ["org", "sfid"]
        values += ["s.org", "s.sfid"]
        aggregates += ["min(m.org) AS org", "min(m.sfid) AS sfid"]
    if spec.name_is_a_field:
        values[columns.index("name")] = display_name(spec)
    else:
        columns.append("name")
        values.append(display_name(spec))
    columns += links
    values += [f"s.{link}" for link in links]
    columns.append("main_org_sfid")
    values.append("s.main_org_sfid")
    survived = (
        f"SELECT m.golden_id, {', '.join(aggregates)}, "
        "(array_agg(m.sfid ORDER BY m.rank) FILTER (WHERE m.is_main))[1] AS main_org_sfid, "
        "array_agg(CAST(json_build_object('org', m.org, 'sfid', m.sfid) AS text) "
        "ORDER BY m.rank) AS sources, "
        "max(m.org || '/' || m.sfid) FILTER (WHERE m.rank = 1) AS first_member, "
        "count(*) AS member_count, string_agg(DISTINCT m.org, ',' ORDER BY m.org) AS orgs, "
        "max(m.systemmodstamp) AT TIME ZONE 'UTC' AS last_modified "
        f"FROM members m {' '.join(joins)} GROUP BY m.golden_id"
    )
    block_joins = "".join(
        f" LEFT JOIN block_{alias} {alias} ON {alias}.golden_id = s.golden_id"
        for alias in blocks.values()
    )
    return (
        f"INSERT INTO golden_next.{obj} (golden_id, {', '.join(columns)}, "
        "member_count, orgs, provenance, last_modified) "
        f"SELECT s.golden_id, {', '.join(values)}, s.member_count, s.orgs, "
        f"{_provenance_json(provenance)}, s.last_modified "
        f"FROM ({survived}) s{block_joins}"
    )


def linked_sql(spec: ObjectSpec, full: bool, insert: InsertTime | None = None) -> str:
    """The INSERT that builds the golden records of an object that is not resolved:
    each is its one source record, so nothing is ranked or aggregated. `insert`: what
    its computer adds (joins, computed columns; `%(name)s` parameters)."""
    obj = spec.name
    insert = insert or InsertTime()
    where = {f.name: f"u.{f.name}" for f in spec.fields if f.golden and not f.computed}
    columns = list(where)
    # A computer may complete a field (an org's one currency where the record has none).
    values = [insert.values.get(column, value) for column, value in where.items()]
    name = display_name(spec, where, "u.org || '/' || u.sfid")
    if spec.name_is_a_field:
        values[columns.index("name")] = name
    else:
        columns.append("name")
        values.append(name)
    provenance = [(f, f"u.{f} IS NOT NULL") for f in where]
    joins = []
    for i, (field, (parent, link)) in enumerate(spec.parent_links.items()):
        joins.append(
            f"LEFT JOIN golden_next.xref p{i} ON p{i}.object = '{parent}' "
            f"AND p{i}.org = u.org AND p{i}.sfid = u.{field}"
        )
        columns.append(link)
        values.append(f"p{i}.golden_id")
        provenance.append((parent, f"p{i}.golden_id IS NOT NULL"))
    columns.append("main_org_sfid")
    values.append("CASE WHEN o.is_main THEN u.sfid END")
    joins.append("JOIN org_priority o ON o.org = u.org")
    for column in spec.computed_fields:
        columns.append(column)
        values.append(insert.values[column])
    joins += insert.joins
    # The changed golden ids first (an incremental build): with this many joins the
    # planner keeps the written order beyond the first eight (join_collapse_limit),
    # and a filter joined last would have every record joined before it.
    xref = (
        "golden_next.xref x"
        if full
        else f"{changed_ids(obj)} c JOIN golden_next.xref x ON x.golden_id = c.golden_id"
    )
    return (
        f"INSERT INTO golden_next.{obj} (golden_id, {', '.join(columns)}, org, sfid, "
        "member_count, orgs, provenance, last_modified) "
        f"SELECT x.golden_id, {', '.join(values)}, u.org, u.sfid, 1, u.org, "
        f"{_one_source_provenance(provenance, 'record_source.json')}, "
        "u.systemmodstamp AT TIME ZONE 'UTC' "
        f"FROM {xref} JOIN unified.{obj} u ON u.org = x.org AND u.sfid = x.sfid "
        # The source's JSON once per record (OFFSET 0: not inlined into every field).
        "CROSS JOIN LATERAL (SELECT CAST(json_build_object('org', u.org, 'sfid', u.sfid) "
        "AS text) AS json OFFSET 0) record_source "
        f"{' '.join(joins)} WHERE x.object = '{obj}'"
    )


def build_golden(engine: Engine, settings: Settings, obj: str) -> Built:
    """Build `golden_next.<obj>`: every golden record, or the changed ones."""
    spec = CATALOGUE[obj]
    with engine.begin() as conn:
        org_priorities(conn, settings)
        full = rebuild_all(conn)
        computer = computer_for(spec) if spec.computed_fields else None
        # Before the old records are cleared: a computer may mark more of them changed.
        insert = computer.prepare(conn, settings, spec, full) if computer else None
        _clear(conn, obj, full)
        if spec.resolved:
            _stage_members(conn, spec, full)
            for block, alias in _block_aliases(spec).items():
                _stage_block(conn, spec, block, f"block_{alias}")
            sql, params = golden_sql(spec), None
        else:
            sql, params = linked_sql(spec, full, insert), insert.params if insert else None
        loaded = bulk_loaded(conn, "golden_next", obj) if full else contextlib.nullcontext()
        # Every record joined to its parents' xref rows: hashed (an incremental build's
        # few records are looked up).
        hashed = hash_joins_only(conn) if full and not spec.resolved else contextlib.nullcontext()
        with loaded, hashed:
            rows = conn.exec_driver_sql(sql, params).rowcount
        computed = computer.report(conn, settings, spec, insert) if computer else None
        return Built(rows, incremental=not full, computed=computed)
