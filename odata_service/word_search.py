"""Text searches answered from the word index (migration 0021) rather than the table.

What Salesforce sends from its search box, `contains(Name,'acme') eq true or
contains(Phone,'acme') eq true` with `$top=25`, returns the first 25 matches in key
order. Through the trigram index, every row holding a common word is fetched from the
table, rechecked and sorted: thousands of scattered rows for 25. Here each term
becomes the keys that match it: the postings of the vocabulary words that contain
it (word-indexed properties), or the property's own trigram index (the others);
`or` is a UNION, `and` an INTERSECT. Only the page of keys then reads the table.

Applies when the whole `$filter` and `$search` are such text matches, on terms of
at least three characters, and the rows are ordered by key alone (as Salesforce's
search asks). Anything else — other conditions, `not`, another order — takes the
general path; the results are the same, only the cost differs.
"""

from __future__ import annotations

from sqlalchemy import Select, column, intersect, select, table, union
from sqlalchemy.sql.selectable import CompoundSelect

from odata_service.compiler import MIN_TRIGRAM_TERM, like_pattern
from odata_service.edm import BOOLEAN
from odata_service.model import EntitySet, Property
from odata_service.syntax import (
    Call,
    Compare,
    Literal,
    Logical,
    Node,
    PropertyRef,
    SearchLogical,
    SearchNode,
    SearchTerm,
)

KEY = "key"

_posting = table(
    "search_posting", column("source"), column("word"), column("golden_id"), schema="golden"
)
_vocabulary = table("search_word", column("source"), column("word"), schema="golden")

Keys = Select | CompoundSelect


def matching_keys(
    entity_set: EntitySet, filter: Node | None, search: SearchNode | None
) -> Keys | None:
    """A query of the keys (column `key`) of the rows that match, or None when it does not apply."""
    parts: list[Keys] = []
    for built in (
        _filter_keys(entity_set, filter) if filter is not None else (),
        _search_keys(entity_set, search) if search is not None else (),
    ):
        if built is None:
            return None
        if built != ():
            parts.append(built)  # type: ignore[arg-type]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else intersect(*parts)


def _filter_keys(entity_set: EntitySet, node: Node) -> Keys | None:
    match node:
        case Compare("eq", inner, Literal(True, type_)) | Compare(
            "eq", Literal(True, type_), inner
        ):
            return _filter_keys(entity_set, inner) if type_ == BOOLEAN else None
        case Logical(op, operands):
            parts = [_filter_keys(entity_set, o) for o in operands]
            if any(p is None for p in parts):
                return None
            return (intersect if op == "and" else union)(*parts)  # type: ignore[arg-type]
        case Call("substringof", (Literal(str() as text), PropertyRef(name))):
            return _term_keys(entity_set, name, "contains", text)
        case Call(
            "contains" | "startswith" | "endswith" as kind,
            (PropertyRef(name), Literal(str() as text)),
        ):
            return _term_keys(entity_set, name, kind, text)
    return None


def _search_keys(entity_set: EntitySet, node: SearchNode) -> Keys | None:
    match node:
        case SearchTerm(text):  # a term matches in any searchable property
            parts = [
                _term_keys(entity_set, p.name, "contains", text) for p in entity_set.searchable
            ]
            combine = union
        case SearchLogical(op, operands):
            parts = [_search_keys(entity_set, o) for o in operands]
            combine = intersect if op == "AND" else union
        case _:  # NOT: the complement of a search is most of the table
            return None
    if not parts or any(p is None for p in parts):
        return None
    return parts[0] if len(parts) == 1 else combine(*parts)  # type: ignore[arg-type]


def _term_keys(entity_set: EntitySet, name: str, kind: str, text: str) -> Keys | None:
    prop = entity_set.prop(name)
    if prop is None or len(text) < MIN_TRIGRAM_TERM:
        return None
    source = entity_set.word_sources.get(name)
    if kind == "contains" and source is not None and not any(c.isspace() for c in text):
        return _posting_keys(source, like_pattern(text, "%", "%"))
    prefix = "" if kind == "startswith" else "%"
    suffix = "" if kind == "endswith" else "%"
    return _table_keys(entity_set, prop, like_pattern(text, prefix, suffix))


def _posting_keys(source: str, pattern: str) -> Select:
    # Lower-cased words matched case-insensitively: what ILIKE on the column does.
    words = select(_vocabulary.c.word).where(
        _vocabulary.c.source == source, _vocabulary.c.word.ilike(pattern, escape="\\")
    )
    return select(_posting.c.golden_id.label(KEY)).where(
        _posting.c.source == source, _posting.c.word.in_(words)
    )


def _table_keys(entity_set: EntitySet, prop: Property, pattern: str) -> Select:
    return (
        select(entity_set.key.expression.label(KEY))
        .select_from(entity_set.table)
        .where(prop.expression.ilike(pattern, escape="\\"))
    )
