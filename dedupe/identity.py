"""Stable golden ids.

- Unchanged input gives identical ids.
- A previous id goes to the new cluster holding most of its previous members
  (ties: the cluster whose smallest member key sorts first), so an entity that
  keeps most of its members keeps its id through a split.
- A cluster that holds several previous ids (a merge) keeps the oldest.
- Any other cluster gets a new id derived from its smallest member key, so a
  rebuild from scratch reproduces the same ids.
"""

from __future__ import annotations

import hashlib

import pandas as pd


def new_golden_id(obj: str, prefix: str, member_key: str, salt: int = 0) -> str:
    """`prefix` (two letters, the object's) and 16 hex digits of the key's hash."""
    digest = hashlib.sha1(f"{obj}|{member_key}|{salt}".encode()).hexdigest()[:16].upper()
    return prefix + digest


def assign_cluster_ids(
    obj: str,
    prefix: str,
    smallest_keys: pd.Series,
    holdings: pd.DataFrame,
    issued_at: dict[str, object],
    reserved: set[str] | frozenset[str] = frozenset(),
) -> dict[object, str]:
    """Golden id for each cluster, from what a database can count without handing
    over a row per record: each cluster's smallest member key ('org/sfid';
    `smallest_keys`, indexed by cluster, in code point order) and `holdings`, one row
    per id of the last publication and cluster holding some of its members
    (`previous_id`, `cluster`, `count`: how many). `issued_at` maps previous ids to
    when they were issued (older wins a merge). `reserved` holds ids that must not
    be issued anew (retired ones stay retired)."""
    assigned: dict[object, str] = {}
    if not holdings.empty:
        counts = holdings[["previous_id", "cluster", "count"]].copy()
        counts["min_key"] = counts["cluster"].map(smallest_keys)
        counts = counts.sort_values(
            ["previous_id", "count", "min_key"], ascending=[True, False, True]
        )
        holder = counts.drop_duplicates("previous_id")
        issued = pd.Series({g: str(at) for g, at in issued_at.items()}, dtype=object)
        holder = holder.assign(
            issued=holder["previous_id"].map(issued).fillna(""),
        ).sort_values(["cluster", "issued", "previous_id"])
        for cluster, golden_id in holder.drop_duplicates("cluster")[
            ["cluster", "previous_id"]
        ].itertuples(index=False):
            assigned[cluster] = golden_id

    taken = set(assigned.values()) | set(reserved)
    # In cluster order, so that which of two colliding candidates takes a salt does
    # not depend on the order the keys came in.
    ordered = smallest_keys.sort_index()
    for cluster, min_key in zip(ordered.index.tolist(), ordered.tolist(), strict=True):
        if cluster in assigned:
            continue
        salt = 0
        candidate = new_golden_id(obj, prefix, min_key)
        while candidate in taken:
            salt += 1
            candidate = new_golden_id(obj, prefix, min_key, salt)
        assigned[cluster] = candidate
        taken.add(candidate)
    return assigned
