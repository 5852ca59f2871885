"""A day of Salesforce users at work on the demo orgs: edits, new duplicates, deletions.

Applied to the Heroku Connect tables as Connect would write them (fresh
`systemmodstamp`), with `demo.truth` kept right, so an incremental run can be timed
and scored. Records are picked by a hash of their sfid and `seed`: the same call
changes the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from demo.seed import DEMO_ORGS

# How a change of `fraction` of the records splits: edits, new duplicates, deletions.
EDIT_SHARE, DUPLICATE_SHARE, DELETE_SHARE = 0.6, 0.25, 0.15

_NOW = "now() AT TIME ZONE 'UTC'"

# Edits, chosen per record by another hash: what users change.
_CONTACT_EDITS = (
    "lastname = 'Moreno-' || lastname",  # married, double-barrelled
    "email = lower(coalesce(firstname, 'x')) || '.' || lower(coalesce(lastname, 'y')) "
    "|| '@newmail.example'",  # a new e-mail address
    "mobilephone = regexp_replace(mobilephone, '[0-9]$', '7')",  # a mistyped mobile
    "title = 'Senior ' || coalesce(title, 'Associate')",  # promoted (titles are compared too)
)
_ACCOUNT_EDITS = (
    "phone = regexp_replace(phone, '[0-9]$', '9')",
    "website = NULL",
    "name = name || ' Group'",
)
_OPPORTUNITY_EDITS = (
    "amount = round(amount * 1.1)",  # a better offer
    "closedate = closedate + 30",  # slipped a month
    "probability = least(probability + 10, 100)",
)
_LEAD_EDITS = (
    "status = 'Working - Contacted'",
    "phone = regexp_replace(phone, '[0-9]$', '3')",
    "title = 'Senior ' || coalesce(title, 'Associate')",
)
_ROLE_EDITS = ("role = 'Influencer'", "isprimary = NOT coalesce(isprimary, false)")
# Per Connect table: what users edit, and the column a copy typed in again gets a typo in.
_OBJECTS = {
    "account": (_ACCOUNT_EDITS, "name"),
    "contact": (_CONTACT_EDITS, "firstname"),
    "opportunity": (_OPPORTUNITY_EDITS, "name"),
    "lead": (_LEAD_EDITS, "lastname"),
    "opportunitycontactrole": (_ROLE_EDITS, None),
}
# Connect's own columns; a duplicate gets fresh ones.
_SYSTEM = {"id", "sfid", "systemmodstamp", "createddate", "isdeleted", "_hc_lastop", "_hc_err"}
_PREFIX = {
    "account": "001",
    "contact": "003",
    "opportunity": "006",
    "lead": "00Q",
    "opportunitycontactrole": "00K",
}
# The truth's object for each table (a contact role has no truth of its own).
_TRUTH = {"opportunitycontactrole": "contact_role"}


@dataclass
class Changes:
    edited: int = 0
    duplicated: int = 0
    deleted: int = 0
    by_table: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.edited + self.duplicated + self.deleted


def _picked(share: float, seed: int, salt: str) -> str:
    """A condition true for `share` of the live rows, by a hash of sfid."""
    return (
        f"sfid IS NOT NULL AND NOT coalesce(isdeleted, false) AND "
        f"abs(hashtext(sfid || '{seed}{salt}')) % 100000 < {int(share * 100000)}"
    )


def _columns(conn: Connection, schema: str, obj: str) -> list[str]:
    return [
        c
        for c in conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position"
            ),
            {"schema": schema, "table": obj},
        ).scalars()
        if c not in _SYSTEM
    ]


def _edit(conn: Connection, schema: str, obj: str, share: float, seed: int) -> int:
    edits = _OBJECTS[obj][0]
    present = set(_columns(conn, schema, obj))
    done = 0
    for index, assignment in enumerate(edits):
        if assignment.split(" = ")[0] not in present:
            continue  # this org's table lacks the field
        done += conn.execute(
            text(
                f"UPDATE {schema}.{obj} SET {assignment}, systemmodstamp = {_NOW} "
                f"WHERE {_picked(share, seed, 'edit')} "
                f"AND abs(hashtext(sfid || 'kind')) % {len(edits)} = {index}"
            )
        ).rowcount
    return done


def _duplicate(conn: Connection, org: str, schema: str, obj: str, share: float, seed: int) -> int:
    """The same person, company or deal typed in again, half of them with a typo."""
    names = _columns(conn, schema, obj)
    columns = ", ".join(names)
    first = _OBJECTS[obj][1]
    values = ", ".join(
        f"CASE WHEN id % 2 = 0 THEN left({c}, -1) ELSE {c} END" if c == first else c for c in names
    )
    new_sfid = f"'{_PREFIX[obj]}Z' || chr(65 + {seed % 26}) || lpad(id::text, 13, '0')"
    # A copied opportunity is another deal of the same account, not the same deal twice.
    entity = "'deal:' || p.copy_sfid" if obj == "opportunity" else "t.entity"
    # One statement: the copies, and their truth (the entity of the record copied).
    return conn.execute(
        text(
            f"WITH picked AS (SELECT *, {new_sfid} AS copy_sfid FROM {schema}.{obj} "
            f"WHERE {_picked(share, seed, 'dup')} AND NOT sfid LIKE '{_PREFIX[obj]}Z%'), "
            f"copied AS (INSERT INTO {schema}.{obj} (sfid, systemmodstamp, createddate, "
            f"isdeleted, {columns}) SELECT copy_sfid, {_NOW}, {_NOW}, false, {values} "
            "FROM picked RETURNING sfid), "
            "truth AS (INSERT INTO demo.truth (object, org, sfid, entity) "
            f"SELECT t.object, t.org, p.copy_sfid, {entity} FROM picked p JOIN demo.truth t "
            "ON t.object IN (:obj, :obj || '_company') AND t.org = :org AND t.sfid = p.sfid "
            "ON CONFLICT DO NOTHING) SELECT count(*) FROM copied"
        ),
        {"obj": _TRUTH.get(obj, obj), "org": org},
    ).scalar_one()


def _delete(conn: Connection, schema: str, obj: str, share: float, seed: int) -> int:
    """Half deleted outright, half flagged deleted (Connect shows both)."""
    soft = conn.execute(
        text(
            f"UPDATE {schema}.{obj} SET isdeleted = true, systemmodstamp = {_NOW} "
            f"WHERE {_picked(share / 2, seed, 'soft')}"
        )
    ).rowcount
    hard = conn.execute(
        text(f"DELETE FROM {schema}.{obj} WHERE {_picked(share / 2, seed, 'hard')}")
    ).rowcount
    return soft + hard


def apply_changes(engine: Engine, fraction: float, seed: int = 1) -> Changes:
    """Change about `fraction` of every demo org's records, in every table it syncs."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction {fraction!r}: expected more than 0 and at most 1")
    changes = Changes()
    with engine.begin() as conn:
        for org in DEMO_ORGS:
            schema = org["schema"]
            for obj in _OBJECTS:
                if not _columns(conn, schema, obj):
                    continue  # a table this org does not sync
                # Duplicates first: a copy is of a record as it was.
                duplicated = _duplicate(
                    conn, org["key"], schema, obj, fraction * DUPLICATE_SHARE, seed
                )
                edited = _edit(conn, schema, obj, fraction * EDIT_SHARE, seed)
                deleted = _delete(conn, schema, obj, fraction * DELETE_SHARE, seed)
                changes.edited += edited
                changes.duplicated += duplicated
                changes.deleted += deleted
                changes.by_table[f"{schema}.{obj}"] = edited + duplicated + deleted
    return changes
