"""Quarantined source records: why each reason sets a record aside, what fixes it, the
next publication's `rejected_record` table, and the list stewards read.

Staging sets aside rows it cannot key, the unified stage records it cannot resolve
(`dedupe.prepare`); both land in `unified.rejected`, and each publication shows
them in `golden.rejected_record`, so every live source record is in exactly one of
`golden.xref` and `golden.rejected_record`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text


@dataclass(frozen=True)
class Reason:
    means: str
    fix: str


REASONS: dict[str, Reason] = {
    "invalid_sfid": Reason(
        "the sfid is not a Salesforce record id (15 or 18 letters and digits)",
        "the row was not written by Heroku Connect: correct its sfid or delete the row "
        "from the org's table",
    ),
    "duplicate_sfid": Reason(
        "several live rows of one table share the sfid",
        "keep one row per record in the org's table (Heroku Connect keeps sfid unique)",
    ),
    "no_name": Reason(
        "nothing to recognise the record by: no name with a letter or digit, and no "
        "e-mail, mobile, national id or birth date with an address (contacts) or "
        "website or registration number (accounts)",
        "enter the name in Salesforce (Last Name of the Contact, Account Name), or an "
        "e-mail or website",
    ),
}


def build_rejected_records(engine: Engine) -> dict[str, dict[str, int]]:
    """Write golden_next.rejected_record from unified.rejected; counts by object and
    reason."""
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE golden_next.rejected_record")
        conn.exec_driver_sql(
            "INSERT INTO golden_next.rejected_record "
            "(object, org, sfid, reason, detail, first_seen, last_seen) "
            "SELECT object, org, sfid, reason, detail, first_seen, last_seen "
            "FROM unified.rejected"
        )
        counts: dict[str, dict[str, int]] = {}
        for obj, reason, count in conn.execute(
            text(
                "SELECT object, reason, count(*) FROM golden_next.rejected_record "
                "GROUP BY object, reason ORDER BY object, reason"
            )
        ):
            counts.setdefault(obj, {})[reason] = count
    return counts


def published_counts(engine: Engine) -> dict[tuple[str, str, str], int]:
    """Published rejections by (object, org, reason)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT object, org, reason, count(*) FROM golden.rejected_record "
                "GROUP BY object, org, reason ORDER BY object, org, reason"
            )
        ).all()
    return {(obj, org, reason): count for obj, org, reason, count in rows}


@dataclass(frozen=True)
class RejectedRecord:
    object: str
    org: str
    sfid: str
    reason: str
    detail: str
    first_seen: object
    last_seen: object


def published_rejections(
    engine: Engine,
    per_group: int,
    obj: str | None = None,
    org: str | None = None,
    reason: str | None = None,
) -> dict[tuple[str, str, str], list[RejectedRecord]]:
    """Published rejections by (object, org, reason), at most `per_group` of each,
    optionally filtered."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT object, org, sfid, reason, detail, first_seen, last_seen FROM ("
                " SELECT r.*, row_number() OVER (PARTITION BY object, org, reason "
                " ORDER BY sfid) AS n FROM golden.rejected_record r"
                " WHERE (CAST(:obj AS text) IS NULL OR object = :obj)"
                " AND (CAST(:org AS text) IS NULL OR org = :org)"
                " AND (CAST(:reason AS text) IS NULL OR reason = :reason)) r "
                "WHERE n <= :per_group ORDER BY object, org, reason, sfid"
            ),
            {"obj": obj, "org": org, "reason": reason, "per_group": per_group},
        ).all()
    groups: dict[tuple[str, str, str], list[RejectedRecord]] = {}
    for row in rows:
        record = RejectedRecord(*row)
        groups.setdefault((record.object, record.org, record.reason), []).append(record)
    return groups
