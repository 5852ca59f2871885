"""What the web app's pages read from the published tables, and nothing else: every
query binds its values, and identifiers (an object's tables) come from the catalogue,
quoted by the driver."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE, ObjectSpec
from warehouse.sql import ident
from warehouse_sql import query

SEARCHED = ("account", "contact")
PAGE = 25
# Review pairs per page, and at most per bulk decision.
REVIEW_PAGE = 20
BULK_LIMIT = 500
BANDS = {"high": (0.5, 1.01), "middle": (0.2, 0.5), "low": (0.0, 0.2)}


@dataclass(frozen=True)
class Hit:
    object: str
    golden_id: str
    name: str
    detail: str
    orgs: str
    members: int


def search(engine: Engine, q: str) -> list[Hit]:
    """Golden accounts and contacts the search box finds: by what the text looks like
    (an e-mail, a phone number, a web domain, an identifier), else by the words of
    their names (the word index the OData service searches too)."""
    q = " ".join(q.split())[:200]
    if len(q) < 2:
        return []
    digits = re.sub(r"\D", "", q)
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 5000"))
        if "@" in q:
            return _hits(
                conn, "app_search_email", {"pattern": f"{_escape(q.lower())}%", "limit": PAGE}
            )
        if len(digits) >= 6 and len(digits) >= len(q.replace(" ", "")) - 3:
            return _hits(conn, "app_search_phone", {"digits": f"%{digits[-9:]}%", "limit": PAGE})
        words = [w for w in re.split(r"\s+", q.lower()) if len(w) >= 3]
        if "." in q and " " not in q:
            domain = re.sub(r"^(https?://)?(www\.)?", "", q.lower()).split("/")[0]
            return _hits(
                conn,
                "app_search_domain",
                {"domain": domain, "mailbox": f"%@{_escape(domain)}", "limit": PAGE},
            )
        found = []
        if words:
            found = _hits(
                conn,
                "app_search_words",
                {"patterns": [f"{_escape(w)}%" for w in words], "words": len(words), "limit": PAGE},
            )
        if not found and re.search(r"\d", q):
            found = _hits(conn, "app_search_identifier", {"value": q.upper(), "limit": PAGE})
        return found


def _escape(word: str) -> str:
    """`word` matched literally inside a LIKE pattern."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _hits(conn: Connection, name: str, params: dict[str, Any]) -> list[Hit]:
    return [Hit(*row) for row in conn.execute(text(query(name)), params).all()]


@dataclass
class Member:
    org: str
    sfid: str
    values: dict[str, Any]
    modified: datetime | None
    url: str | None


@dataclass
class GoldenRecord:
    spec: ObjectSpec
    golden_id: str
    values: dict[str, Any]
    provenance: dict[str, dict[str, str]]
    members: list[Member]
    fields: list[str]
    contacts: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    pipeline: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    def source_of(self, name: str) -> Member | None:
        """The member a surviving value came from."""
        where = self.provenance.get(name) or self.provenance.get(_block_of(self.spec, name))
        if not where:
            return None
        return next(
            (m for m in self.members if m.org == where.get("org") and m.sfid == where.get("sfid")),
            None,
        )


def _block_of(spec: ObjectSpec, name: str) -> str:
    return next((f.block for f in spec.fields if f.name == name and f.block), name)


def shown_fields(spec: ObjectSpec) -> list[str]:
    """A record's fields a person reads (not identity numbers, not links)."""
    return [
        f.name
        for f in spec.fields
        if f.golden and f.exposed and not f.computed and f.parent is None and not f.derived
    ]


def golden_record(
    engine: Engine, obj: str, golden_id: str, instance_urls: dict[str, str]
) -> GoldenRecord | None:
    spec = CATALOGUE[obj]
    fields = shown_fields(spec)
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(f"SELECT * FROM {ident(conn, 'golden', obj)} WHERE golden_id = :id"),
                {"id": golden_id},
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return None
        members = []
        for member in (
            conn.execute(
                text(
                    f"SELECT u.* FROM golden.xref x JOIN {ident(conn, 'unified', obj)} u "
                    "ON u.org = x.org AND u.sfid = x.sfid "
                    "WHERE x.object = :obj AND x.golden_id = :id ORDER BY u.org, u.sfid"
                ),
                {"obj": obj, "id": golden_id},
            )
            .mappings()
            .all()
        ):
            url = instance_urls.get(member["org"])
            members.append(
                Member(
                    member["org"],
                    member["sfid"],
                    {name: member.get(name) for name in fields},
                    member.get("systemmodstamp") or member.get("last_modified"),
                    f"{url}/{member['sfid']}" if url else None,
                )
            )
        provenance = row.get("provenance", {})
        record = GoldenRecord(
            spec,
            golden_id,
            dict(row),
            provenance if isinstance(provenance, dict) else json.loads(provenance or "{}"),
            members,
            fields,
        )
        record.reviews = _rows(conn, "app_record_reviews", {"id": golden_id})
        if obj == "account":
            record.contacts = _rows(conn, "app_account_contacts", {"id": golden_id})
            record.pipeline = _rows(conn, "app_account_pipeline", {"id": golden_id})
            summary = _rows(conn, "app_account_summary", {"id": golden_id})
            record.summary = summary[0] if summary else None
    return record


def _rows(conn: Connection, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(text(query(name)), params).mappings().all()]


@dataclass(frozen=True)
class ReviewFilter:
    object: str | None = None
    orgs: tuple[str, str] | None = None
    band: str | None = None

    def params(self) -> dict[str, Any]:
        low, high = BANDS.get(self.band or "", (0.0, 1.01))
        return {
            "obj": self.object,
            "org_x": self.orgs[0] if self.orgs else None,
            "org_y": self.orgs[1] if self.orgs else None,
            "low": low,
            "high": high,
        }


@dataclass
class PairSide:
    org: str
    sfid: str
    golden_id: str
    label: str | None
    values: dict[str, Any]
    url: str | None


@dataclass
class ReviewPair:
    review_id: str
    object: str
    probability: float
    match_weight: float
    a: PairSide
    b: PairSide
    # Per compared field: (level, weight), for the bars.
    weights: dict[str, tuple[str | None, float]]
    fields: list[str]

    def agrees(self, name: str) -> bool | None:
        """Whether both records hold the same value (None: one of them holds none)."""
        x, y = self.a.values.get(name), self.b.values.get(name)
        if x in (None, "") or y in (None, ""):
            return None
        return str(x).strip().casefold() == str(y).strip().casefold()


def review_pairs(
    engine: Engine,
    chosen: ReviewFilter,
    instance_urls: dict[str, str],
    offset: int = 0,
    limit: int = REVIEW_PAGE,
) -> tuple[list[ReviewPair], int]:
    """A page of the pairs waiting for a decision that `chosen` selects, likeliest
    first, and how many there are in all."""
    with engine.connect() as conn:
        params = {**chosen.params(), "offset": offset, "limit": limit}
        rows = conn.execute(text(query("app_review_queue")), params).mappings().all()
        if not rows and offset:  # past the end (the queue shrank): the first page
            return review_pairs(engine, chosen, instance_urls, 0, limit)
        total = rows[0]["total"] if rows else 0
        records = _pair_records(conn, rows)
    return [_pair(row, records, instance_urls) for row in rows], total


def _pair_records(conn: Connection, rows: list[Any]) -> dict[tuple[str, str, str], dict]:
    """Both records of every pair, one query per object: (object, org, sfid) -> row."""
    wanted: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        for side in ("a", "b"):
            wanted.setdefault(row["object"], set()).add((row[f"org_{side}"], row[f"sfid_{side}"]))
    found: dict[tuple[str, str, str], dict] = {}
    for obj, keys in wanted.items():
        for record in (
            conn.execute(
                text(
                    f"SELECT u.* FROM {ident(conn, 'unified', obj)} u JOIN "
                    "(SELECT unnest(CAST(:orgs AS text[])) AS org, "
                    "unnest(CAST(:sfids AS text[])) AS sfid) k "
                    "ON k.org = u.org AND k.sfid = u.sfid"
                ),
                {"orgs": [o for o, _ in keys], "sfids": [s for _, s in keys]},
            )
            .mappings()
            .all()
        ):
            found[(obj, record["org"], record["sfid"])] = dict(record)
    return found


def review_rows(engine: Engine, chosen: ReviewFilter) -> list[dict[str, Any]]:
    """Every waiting pair `chosen` selects (at most BULK_LIMIT), for a bulk decision."""
    with engine.connect() as conn:
        params = {**chosen.params(), "offset": 0, "limit": BULK_LIMIT}
        return [dict(r) for r in conn.execute(text(query("app_review_queue")), params).mappings()]


def _pair(
    row: Any, records: dict[tuple[str, str, str], dict], instance_urls: dict[str, str]
) -> ReviewPair:
    obj = row["object"]
    fields = shown_fields(CATALOGUE[obj])
    sides = []
    for side in ("a", "b"):
        org, sfid = row[f"org_{side}"], row[f"sfid_{side}"]
        record = records.get((obj, org, sfid), {})
        url = instance_urls.get(org)
        sides.append(
            PairSide(
                org,
                sfid,
                row[f"golden_id_{side}"],
                row[f"label_{side}"],
                {name: record.get(name) for name in fields},
                f"{url}/{sfid}" if url else None,
            )
        )
    weights: dict[str, tuple[str | None, float]] = {}
    raw = row["field_weights"]
    for name, value in (raw if isinstance(raw, dict) else json.loads(raw or "{}")).items():
        if isinstance(value, dict):
            weights[name] = (value.get("level"), float(value.get("weight") or 0.0))
        else:
            weights[name] = (None, float(value or 0.0))
    return ReviewPair(
        row["review_id"],
        obj,
        float(row["probability"]),
        float(row["match_weight"]),
        sides[0],
        sides[1],
        weights,
        fields,
    )


def review_row(engine: Engine, review_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                text(
                    "SELECT review_id, object, org_a, sfid_a, org_b, sfid_b "
                    "FROM golden.duplicate_review WHERE review_id = :id"
                ),
                {"id": review_id},
            )
            .mappings()
            .one_or_none()
        )
    return dict(row) if row else None


def review_choices(engine: Engine) -> tuple[list[str], list[tuple[str, str]]]:
    """The objects and org pairs the queue holds, for its filters."""
    with engine.connect() as conn:
        objects = conn.execute(
            text("SELECT DISTINCT object FROM golden.duplicate_review ORDER BY 1")
        ).scalars()
        pairs = conn.execute(
            text(
                "SELECT DISTINCT least(org_a, org_b), greatest(org_a, org_b) "
                "FROM golden.duplicate_review ORDER BY 1, 2"
            )
        ).all()
        return list(objects), [tuple(p) for p in pairs]


def history(
    engine: Engine, pair: tuple[str, str, str, str, str] | None = None, by: str | None = None
) -> list[dict[str, Any]]:
    """Steward actions, newest first: about one pair (object, org_a, sfid_a, org_b,
    sfid_b), or by one steward, or all."""
    obj, org_a, sfid_a, org_b, sfid_b = pair or (None,) * 5
    with engine.connect() as conn:
        return _rows(
            conn,
            "app_decision_history",
            {
                "obj": obj,
                "org_a": org_a,
                "sfid_a": sfid_a,
                "org_b": org_b,
                "sfid_b": sfid_b,
                "by": by,
                "limit": 200,
            },
        )


def last_publication(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        rows = _rows(conn, "app_publications", {"limit": 1})
    return rows[0] if rows else None


def publications(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return _rows(conn, "app_publications", {"limit": limit})


@dataclass
class DuplicateReport:
    found: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    weights: dict[str, list[float]]
    runs: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]


def duplicate_report(engine: Engine) -> DuplicateReport:
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 60000"))
        weights: dict[str, list[float]] = {}
        for obj, weight in conn.execute(
            text("SELECT object, match_weight FROM golden.duplicate_review")
        ).all():
            weights.setdefault(obj, []).append(float(weight))
        return DuplicateReport(
            found=_rows(conn, "app_report_found", {}),
            queue=_rows(conn, "app_report_queue", {}),
            weights=weights,
            runs=_rows(conn, "app_report_runs", {"limit": 10}),
            quarantine=_rows(conn, "app_report_quarantine", {}),
        )
