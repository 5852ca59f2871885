"""Steward decisions: record them, and read them back for the matcher."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

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
    a, b = _ordered(
        decision.object, (decision.org_a, decision.sfid_a), (decision.org_b, decision.sfid_b)
    )
    if decision.decision not in DECISIONS:
        raise DecisionError(f"decision {decision.decision!r}: expected match or no_match")
    if decision.decision == "match" and not CATALOGUE[decision.object].resolved:
        raise DecisionError(
            f"{CATALOGUE[decision.object].plural_name} are never merged: one entered twice "
            "is removed in Salesforce; `no_match` dismisses a pair that is not the same"
        )
    if not decision.decided_by.strip():
        raise DecisionError("decided_by: say who decided (--by NAME)")
    with engine.begin() as conn:
        _lock_pair(conn, decision.object, a, b)
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
        _stand(conn, decision.object, a, b, decision.decision, decision.decided_by, decision.note)
        _log(conn, decision.object, a, b, decision.decision, decision.decided_by, decision.note)
    return Decision(decision.object, *a, *b, decision.decision, decision.decided_by, decision.note)


def _pair(obj: str, a: tuple[str, str], b: tuple[str, str]) -> dict[str, str]:
    return {"obj": obj, "org_a": a[0], "sfid_a": a[1], "org_b": b[0], "sfid_b": b[1]}


def _stand(
    conn: Connection,
    obj: str,
    a: tuple[str, str],
    b: tuple[str, str],
    decision: str | None,
    by: str,
    note: str | None,
) -> None:
    """Make `decision` the one that stands for the pair (None: no decision)."""
    if decision is None:
        conn.execute(
            text(
                "DELETE FROM steward.decision WHERE object = :obj AND org_a = :org_a "
                "AND sfid_a = :sfid_a AND org_b = :org_b AND sfid_b = :sfid_b"
            ),
            _pair(obj, a, b),
        )
        return
    conn.execute(
        text(
            "INSERT INTO steward.decision (object, org_a, sfid_a, org_b, sfid_b, decision, "
            "decided_by, note) VALUES (:obj, :org_a, :sfid_a, :org_b, :sfid_b, :decision, "
            ":by, :note) ON CONFLICT (object, org_a, sfid_a, org_b, sfid_b) DO UPDATE SET "
            "decision = excluded.decision, decided_by = excluded.decided_by, "
            "note = excluded.note, decided_at = now()"
        ),
        {**_pair(obj, a, b), "decision": decision, "by": by, "note": note},
    )


def _log(
    conn: Connection,
    obj: str,
    a: tuple[str, str],
    b: tuple[str, str],
    action: str,
    by: str,
    note: str | None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO steward.decision_log (object, org_a, sfid_a, org_b, sfid_b, action, "
            "decided_by, note) VALUES (:obj, :org_a, :sfid_a, :org_b, :sfid_b, :action, "
            ":by, :note)"
        ),
        {**_pair(obj, a, b), "action": action, "by": by, "note": note},
    )


def _ordered(obj: str, a: tuple[str, str], b: tuple[str, str]) -> tuple[tuple, tuple]:
    if obj not in OBJECTS:
        raise DecisionError(f"object {obj!r}: expected one of {', '.join(OBJECTS)}")
    if a == b:
        raise DecisionError(f"a record cannot be paired with itself ({a[0]}/{a[1]})")
    first, second = sorted((a, b))
    return first, second


def skip_pair(
    engine: Engine, obj: str, a: tuple[str, str], b: tuple[str, str], by: str, note: str | None
) -> None:
    """A steward looked at the pair and left it for later: kept in its history only."""
    a, b = _ordered(obj, a, b)
    with engine.begin() as conn:
        _log(conn, obj, a, b, "skip", by, note)


def undo_decision(
    engine: Engine, obj: str, a: tuple[str, str], b: tuple[str, str], by: str
) -> str | None:
    """Take back the pair's latest decision: the one before it stands again (or none).
    Returns the decision that stands now."""
    a, b = _ordered(obj, a, b)
    with engine.begin() as conn:
        _lock_pair(conn, obj, a, b)
        standing = _standing(conn, obj, a, b)
        if not standing:
            raise DecisionError(f"no decision about {a[0]}/{a[1]} and {b[0]}/{b[1]} to undo")
        standing.pop()
        # The decision before stands again, as its steward took it.
        before = standing[-1] if standing else (None, None, by)
        _stand(conn, obj, a, b, before[0], before[2], before[1])
        _log(conn, obj, a, b, "undo", by, None)
    return before[0]


def _lock_pair(conn: Connection, obj: str, a: tuple[str, str], b: tuple[str, str]) -> None:
    """One writer per pair at a time (decisions and undos read and extend its history)."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"steward:{obj}:{a}:{b}"}
    )


def _standing(
    conn: Connection, obj: str, a: tuple[str, str], b: tuple[str, str]
) -> list[tuple[str, str | None, str]]:
    """The pair's decisions not taken back, oldest first: (decision, note, by whom)."""
    rows = conn.execute(
        text(
            "SELECT action, note, decided_by FROM steward.decision_log WHERE object = :obj "
            "AND org_a = :org_a AND sfid_a = :sfid_a AND org_b = :org_b AND sfid_b = :sfid_b "
            "ORDER BY id"
        ),
        _pair(obj, a, b),
    ).all()
    stack: list[tuple[str, str | None, str]] = []
    for action, note, decided_by in rows:
        if action in DECISIONS:
            stack.append((action, note, decided_by))
        elif action == "undo" and stack:
            stack.pop()
    return stack


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


def decided_pairs(engine: Engine, obj: str) -> pd.DataFrame:
    """Every pair a steward ever decided or undid (org_a, sfid_a, org_b, sfid_b): the
    records an incremental resolution looks at again, so that a decision taken back
    is undone in the clusters too."""
    with engine.connect() as conn:
        return pd.read_sql_query(
            text(
                "SELECT DISTINCT org_a, sfid_a, org_b, sfid_b, 'undo' AS decision "
                "FROM steward.decision_log WHERE object = :obj AND action <> 'skip'"
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
