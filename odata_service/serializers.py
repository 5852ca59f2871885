"""OData JSON bodies (odata.metadata=minimal), written with orjson.

Values go out as the database returned them: orjson writes dates as `2024-01-02`
and UTC date-times as `2024-01-02T03:04:05Z` (naive ones are UTC by convention),
so rows need no per-value conversion on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import orjson

JSON_CONTENT_TYPE = "application/json;odata.metadata=minimal"
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def collection(
    context: str,
    names: Sequence[str],
    rows: Iterable[Sequence[object]],
    count: int | None = None,
    next_link: str | None = None,
) -> bytes:
    document: dict[str, object] = {"@odata.context": context}
    if count is not None:
        document["@odata.count"] = count
    document["value"] = [dict(zip(names, row, strict=False)) for row in rows]
    if next_link is not None:
        document["@odata.nextLink"] = next_link
    return orjson.dumps(document, option=_OPTIONS, default=_default)


def entity(context: str, names: Sequence[str], row: Sequence[object]) -> bytes:
    document: dict[str, object] = {"@odata.context": context}
    document.update(zip(names, row, strict=False))
    return orjson.dumps(document, option=_OPTIONS, default=_default)


def service_document(context: str, entity_sets: Iterable[str]) -> bytes:
    return orjson.dumps(
        {
            "@odata.context": context,
            "value": [{"name": n, "kind": "EntitySet", "url": n} for n in entity_sets],
        }
    )
