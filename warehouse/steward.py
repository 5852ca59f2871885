"""Steward decisions: record them, and read them back for the matcher."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from core.catalogue import CATALOGUE, OBJECTS
from core.errors import ConfigError

DECISIONS = ("match", "no_match")


class DecisionError(ConfigError):
    """A steward decision that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class Decision:
    object: str
    org_a: str
    sfid_a: str
    org_b: str
    sfid_b: str
    decision: str
    decided_by: str
    note: str | None = None


def parse_record(value: str, what: str) -> tuple[str, str]:
    org, sep, sfid = value.partition("/")
    if not sep or not org or not sfid:
        raise DecisionError(f"{what} {value!r}: expected ORG/SFID, e.g. amer/0035g00000AbCdE")
    if not (15 <= len(sfid) <= 18 and sfid.isalnum()):
        raise DecisionError(
            f"{what} {value!r}: {sfid!r} is not a Salesforce id (15-18 letters/digits)"
        )
    return org, sfid


def record_decision(engine: Engine, decision: Decision) -> Decision:
    """Validate and store a decision (the latest decision about a pair wins)."""
    if decision.object not in OBJECTS:
        raise DecisionError(f"object {decision.object!r}: expected one of {', '.join(OBJECTS)}")
    if decision.decision not in DECISIONS:
        raise DecisionError(f"decision {decision.decision!r}: expected match or no_match")
    if decision.decision == "match" and not CATALOGUE[decision.object].resolved:
        raise DecisionError(
            f"{CATALOGUE[decision.object].plural_name} are never merged: one entered twice "
            "is removed in Salesforce; `no_match` dismisses a pair that is not the same"
        )
    if not decision.decided_by.strip():
        raise DecisionError("decided_by: say who decided (--by NAME)")
    a = (decision.org_a, decision.sfid_a)
    b = (decision.org_b, decision.sfid_b)
    if a == b:
        raise DecisionError(f"a record cannot be paired with itself ({a[0]}/{a[1]})")
    a, b = sorted((a, b))
    with engine.begin() as conn:
        for org, sfid in (a, b):
            found = conn.execute(
                text(
                    "SELECT 1 FROM golden.xref WHERE object = :obj AND org = :org AND sfid = :sfid"
                ),
                {"obj": decision.object, "org": org, "sfid": sfid},
            ).scalar()
            if not found:
                raise DecisionError(
                    f"no live {decision.object} {org}/{sfid} in golden.xref "
                    "(check the org key and sfid; deleted records cannot be decided)"
                )
        conn.execute(
            text(
                "INSERT INTO steward.decision (object, org_a, sfid_a, org_b, sfid_b, decision, "
                "decided_by, note) VALUES (:obj, :org_a, :sfid_a, :org_b, :sfid_b, :decision, "
                ":by, :note) ON CONFLICT (object, org_a, sfid_a, org_b, sfid_b) DO UPDATE SET "
                "decision = excluded.decision, decided_by = excluded.decided_by, "
                "note = excluded.note, decided_at = now()"
            ),
            {
                "obj": decision.object,
                "org_a": a[0],
                "sfid_a": a[1],
                "org_b": b[0],
                "sfid_b": b[1],
                "decision": decision.decision,
                "by": decision.decided_by,
                "note": decision.note,
            },
        )
    return Decision(decision.object, *a, *b, decision.decision, decision.decided_by, decision.note)


def review_pair(engine: Engine, review_id: str) -> tuple[str, str, str, str, str]:
    """(object, org_a, sfid_a, org_b, sfid_b) of a pair in the review queue."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT object, org_a, sfid_a, org_b, sfid_b FROM golden.duplicate_review "
                "WHERE review_id = :id"
            ),
            {"id": review_id},
        ).one_or_none()
    if row is None:
        raise DecisionError(f"review id {review_id!r} is not in golden.duplicate_review")
    return tuple(row)


def decisions_for(engine: Engine, obj: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                "SELECT org_a, sfid_a, org_b, sfid_b, decision FROM steward.decision "
                "WHERE object = :obj"
            ),
            conn,
            params={"obj": obj},
        )


def steward_links(
    frame: pd.DataFrame, decisions: pd.DataFrame
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Steward decisions as position pairs: (must-links, cannot-links, decisions ignored).

    A decision about a record that is no longer live is kept in the table but has
    nothing to act on; it is counted, not an error.
    """
    if decisions.empty:
        none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        return none, none, 0
    positions = pd.Series(
        np.arange(len(frame)), index=pd.MultiIndex.from_arrays([frame["org"], frame["sfid"]])
    )
    a = positions.reindex(pd.MultiIndex.from_arrays([decisions["org_a"], decisions["sfid_a"]]))
    b = positions.reindex(pd.MultiIndex.from_arrays([decisions["org_b"], decisions["sfid_b"]]))
    usable = a.notna().to_numpy() & b.notna().to_numpy()
    left = a.to_numpy()[usable].astype(np.int64)
    right = b.to_numpy()[usable].astype(np.int64)
    is_match = (decisions["decision"] == "match").to_numpy()[usable]
    return (
        (left[is_match], right[is_match]),
        (left[~is_match], right[~is_match]),
        int((~usable).sum()),
    )
