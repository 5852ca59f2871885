"""Incremental resolution: after a small change, score only the changed records' pairs
and re-cluster only the groups they touch.

- Changed records: unified rows changed since the last resolution, deleted ones, and
  (contacts) those whose account moved to another cluster.
- Their candidate pairs come from every record's stored blocking keys (a changed
  record's keys are computed afresh), with the same block limits as a full run; the
  pairs they had are replaced.
- Clustering runs on the connected match groups that hold a changed record, a
  record that shared a cluster with one, or a steward decision, with the cannot-links
  among their members scored afresh. Every other group is as a full run leaves it:
  its records, pairs and decisions did not change.

Pairs between two unchanged records keep the scores they were given (term
frequencies then); a full run (`org360 run --full`, or a refitted model) rescores all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE
from dedupe.blocking import NO_KEY, key_hashes, pairs_with, value_hashes
from dedupe.cluster import cluster, strongest_inside
from dedupe.score import CodedColumns, ScoredPairs, score_pairs, term_shares
from dedupe.settings import MatchSettings, stored_rules
from warehouse import resolution_state as state
from warehouse.frames import load_frame
from warehouse.matchers import matcher_for
from warehouse.parallel import in_background
from warehouse.sql import (
    copy_binary,
    ident,
    plan_for_few_rows,
    read_int64_column,
    read_query,
)
from warehouse.steward import decided_pairs, decisions_for
from warehouse_sql import query

# Above this share of changed records a full resolution is cheaper than a partial one.
INCREMENTAL_LIMIT = 0.2


def _changed_query(conn: Connection, obj: str) -> tuple[str, dict[str, str]]:
    """The records of `obj` to compare again: those changed, and those whose parent
    record (the catalogue's `parent` fields) moved to another cluster; the query and
    the parents' names it binds."""
    unified = ident(conn, "unified", obj)
    parts, params = [query("changed_records", unified=unified)], {}
    for index, (field, parent) in enumerate(CATALOGUE[obj].parents.items()):
        params[f"parent_{index}"] = parent
        parts.append(
            query(
                "changed_through_parent",
                unified=unified,
                parent_field=ident(conn, field),
                parent_object=f":parent_{index}",
            )
        )
    return "\nUNION\n".join(parts), params


def changed_records(conn: Connection, obj: str, since: int) -> tuple[np.ndarray, np.ndarray]:
    """(live records changed since `since`, records deleted since), by record id."""
    sql, parents = _changed_query(conn, obj)
    changed = conn.execute(text(sql), {"since": since, **parents}).scalars().all()
    removed = (
        conn.execute(
            text(
                "SELECT record_id FROM unified.deletion WHERE object = :obj AND change_seq > :since"
            ),
            {"obj": obj, "since": since},
        )
        .scalars()
        .all()
    )
    return np.unique(np.asarray(changed, dtype=np.int64)), np.asarray(removed, dtype=np.int64)


class TermShares:
    """Each value's share of all records in a column (term frequencies over every
    record, not just the few loaded), counted from every record's stored keys."""

    def __init__(self, model: MatchSettings, keys: np.ndarray) -> None:
        self.keys = keys
        self.position = {rule[0]: i for i, rule in enumerate(stored_rules(model))}
        self.counts: dict[str, pd.Series] = {}

    def __call__(self, column: str, values: np.ndarray) -> np.ndarray:
        index = self.position[column]
        if column not in self.counts:
            self.counts[column] = pd.Series(self.keys[:, index]).value_counts()
        hashes = value_hashes(values, index)
        found = pd.Series(hashes).map(self.counts[column]).fillna(0).to_numpy(np.float64, copy=True)
        found[hashes == NO_KEY] = 0
        return term_shares(found, len(self.keys))


@dataclass
class RunCache:
    """What the comparison step leaves for the clustering step when both run in one
    process: every record's blocking keys and the term counts already fetched."""

    record_ids: np.ndarray
    keys: np.ndarray
    shares: TermShares
    records: Records | None = None


_RUNS: dict[tuple[str, str, str], RunCache] = {}


def _run_key(engine: Engine, obj: str, run_key: str) -> tuple[str, str, str]:
    return (engine.url.render_as_string(hide_password=True), obj, run_key)


@dataclass
class Records:
    """Some records' features, in record id order, scored against all records' term
    frequencies."""

    record_ids: np.ndarray
    features: pd.DataFrame
    coded: CodedColumns

    def positions(self, ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.record_ids, ids)


def load_records(
    engine: Engine,
    obj: str,
    record_ids: np.ndarray,
    shares: TermShares,
    known: pd.DataFrame | None = None,
) -> Records:
    """The features of records `record_ids` and of `known` (features computed before,
    not loaded again), in record id order."""
    if known is not None:
        record_ids = np.setdiff1d(record_ids, known["record_id"].to_numpy(dtype=np.int64))
    features = matcher_for(obj).features(load_frame(engine, obj, record_ids).reset_index(drop=True))
    if known is not None:
        features = pd.concat([known, features], ignore_index=True)
        order = np.argsort(features["record_id"].to_numpy(dtype=np.int64), kind="stable")
        features = features.iloc[order].reset_index(drop=True)
    return Records(
        features["record_id"].to_numpy(dtype=np.int64),
        features,
        CodedColumns(features, population=shares),
    )


def score(
    records: Records, left: np.ndarray, right: np.ndarray, model: MatchSettings
) -> ScoredPairs:
    """Score pairs given by record id; positions in the result refer to `records`."""
    lp, rp = records.positions(left), records.positions(right)
    previous = records.features["previous"].to_numpy(dtype=object)
    return score_pairs(records.features, lp, rp, model, coded=records.coded, previous=previous)


@dataclass
class DeltaPairs:
    changed: np.ndarray
    removed: np.ndarray
    candidate_pairs: int
    review_pairs: int
    matched_pairs: int


def compare_changes(
    engine: Engine,
    obj: str,
    model: MatchSettings,
    since: int,
    run_key: str = "",
) -> DeltaPairs:
    """Replace the changed and deleted records' pairs with freshly scored ones."""
    rules = stored_rules(model)

    def stored_keys() -> tuple[np.ndarray, np.ndarray, list[state.Change]]:
        with engine.connect() as conn:
            return state.read_block_keys(conn, obj, len(rules))

    with engine.connect() as conn:
        changed, removed = changed_records(conn, obj, since)
    if not len(changed) and not len(removed):
        # Nothing to score: the stored keys (a hundred MB at a million records) stay put.
        return DeltaPairs(changed, removed, candidate_pairs=0, review_pairs=0, matched_pairs=0)
    stored = in_background(stored_keys)
    frame = load_frame(engine, obj, changed)
    fresh = matcher_for(obj).features(frame.reset_index(drop=True))
    changed = frame["record_id"].to_numpy(dtype=np.int64)  # changed, then deleted: gone
    changed_keys = key_hashes(fresh, rules)
    record_ids, keys, changes = stored.result()
    # This run's change goes in with the stored ones: the keys are copied once.
    changes.append((changed, changed_keys, removed))
    record_ids, keys = state.apply_change(
        record_ids, keys, *state.merge_changes(changes, len(rules))
    )
    shares = TermShares(model, keys)

    blocking = len(model.blocking_rules)
    left, right = pairs_with(record_ids, keys[:, :blocking], changed, model.max_block_size)
    neighbours = np.setdiff1d(np.union1d(left, right), changed)
    records = load_records(engine, obj, neighbours, shares, known=fresh)
    scored = score(records, left, right, model)
    gone = [int(i) for i in np.concatenate([changed, removed])]
    with engine.begin() as conn:
        conn.execute(
            text(
                f"DELETE FROM resolve.{obj}_pair "
                "WHERE left_id = ANY(:gone) OR right_id = ANY(:gone)"
            ),
            {"gone": gone},
        )
        state.save_pairs(conn, obj, scored, records.record_ids, shard=0)
        state.save_key_change(conn, obj, changed, changed_keys, removed, record_ids, keys)
    _RUNS[_run_key(engine, obj, run_key)] = RunCache(record_ids, keys, shares, records)
    return DeltaPairs(
        changed=changed,
        removed=removed,
        candidate_pairs=len(left),
        review_pairs=int(scored.is_review.sum()),
        matched_pairs=int(scored.is_match.sum()),
    )


def _decision_ids(conn: Connection, obj: str, decisions: pd.DataFrame) -> pd.DataFrame:
    """Steward decisions between live records, by record id (a, b, is_match)."""
    if decisions.empty:
        empty = np.empty(0, dtype=np.int64)
        return pd.DataFrame({"a": empty, "b": empty, "is_match": np.empty(0, dtype=bool)})
    ids = pd.read_sql_query(
        text(
            f"SELECT u.record_id, u.org, u.sfid FROM unified.{obj} u "
            "JOIN (SELECT unnest(CAST(:orgs AS text[])) AS org, "
            "unnest(CAST(:sfids AS text[])) AS sfid) d ON d.org = u.org AND d.sfid = u.sfid"
        ),
        conn,
        params={
            "orgs": list(decisions["org_a"]) + list(decisions["org_b"]),
            "sfids": list(decisions["sfid_a"]) + list(decisions["sfid_b"]),
        },
    ).drop_duplicates()
    index = ids.set_index(["org", "sfid"])["record_id"]
    a = index.reindex(pd.MultiIndex.from_arrays([decisions["org_a"], decisions["sfid_a"]]))
    b = index.reindex(pd.MultiIndex.from_arrays([decisions["org_b"], decisions["sfid_b"]]))
    out = pd.DataFrame(
        {
            "a": a.to_numpy(),
            "b": b.to_numpy(),
            "is_match": (decisions["decision"] == "match").to_numpy(),
        }
    ).dropna()
    return out.astype({"a": np.int64, "b": np.int64})


# The records reachable from `start` over match edges, in either direction. UNION
# drops what was reached before, so the recursion ends; each record costs two index
# lookups.
_REACHED_SQL = (
    "WITH RECURSIVE reached(record_id) AS ("
    " SELECT unnest(CAST(%(start)s AS bigint[]))"
    " UNION"
    " SELECT next.record_id FROM reached r CROSS JOIN LATERAL ("
    "  SELECT p.right_id AS record_id FROM resolve.{obj}_pair p"
    "  WHERE p.left_id = r.record_id AND p.is_match"
    "  UNION ALL"
    "  SELECT p.left_id FROM resolve.{obj}_pair p"
    "  WHERE p.right_id = r.record_id AND p.is_match) next"
    ") SELECT record_id FROM reached"
)


@dataclass
class DeltaClusters:
    reclustered: int
    moved: int
    must_links: int
    cannot_links: int


def cluster_changes(
    engine: Engine,
    obj: str,
    model: MatchSettings,
    delta: DeltaPairs,
    newest: int,
    run_key: str = "",
) -> DeltaClusters:
    """Re-cluster the match groups the change touches; record what publication must
    rebuild."""
    cached = _RUNS.pop(_run_key(engine, obj, run_key), None)
    decisions = decisions_for(engine, obj)
    with engine.connect() as conn:
        decided = _decision_ids(conn, obj, decisions)
        # Records of pairs decided at any time, those taken back included: an undone
        # decision must let its records' clusters form again.
        touched = _decision_ids(conn, obj, decided_pairs(engine, obj))
        seeds = np.unique(
            np.concatenate(
                [
                    delta.changed,
                    decided["a"].to_numpy(),
                    decided["b"].to_numpy(),
                    touched["a"].to_numpy(),
                    touched["b"].to_numpy(),
                ]
            )
        )
        # Records that shared a cluster with a changed or deleted one.
        mates = (
            conn.execute(
                text(
                    f"SELECT m.record_id FROM resolve.{obj}_cluster m WHERE m.cluster_id IN "
                    f"(SELECT cluster_id FROM resolve.{obj}_cluster WHERE record_id = ANY(:ids))"
                ),
                {"ids": [int(i) for i in np.concatenate([seeds, delta.removed])]},
            )
            .scalars()
            .all()
        )
        start = np.setdiff1d(np.union1d(seeds, np.asarray(mates, dtype=np.int64)), delta.removed)
        # Every record a match path leads to from the start (a must-link joins two
        # seeds, so it adds nothing here), and the matches among them.
        plan_for_few_rows(conn)
        affected = np.unique(
            read_int64_column(conn, _REACHED_SQL.format(obj=obj), {"start": start.tolist()})
        )
        # The kept pairs among them: matches cluster, every kept pair may be a record's
        # strongest inside its cluster.
        edges = read_query(
            conn,
            "SELECT left_id, right_id, match_weight, CAST(is_match AS int) AS is_match "
            f"FROM resolve.{obj}_pair "
            "WHERE left_id = ANY(%(ids)s)",
            {"ids": affected.tolist()},
        )
    if not len(affected):
        # Nothing changed, and no steward decision: the clusters stand as they are.
        with engine.begin() as conn:
            conn.execute(
                text(f"DELETE FROM resolve.{obj}_cluster WHERE record_id = ANY(:ids)"),
                {"ids": [int(i) for i in delta.removed]},
            )
            state.mark_changed(
                conn, obj, state.consume_deletions(conn, obj, newest)[["org", "sfid"]]
            )
        return DeltaClusters(reclustered=0, moved=0, must_links=0, cannot_links=0)
    if cached is None:  # the comparison ran in another process, or had nothing to score
        with engine.connect() as conn:
            record_ids, keys = state.load_block_keys(conn, obj, len(stored_rules(model)))
        cached = RunCache(record_ids, keys, TermShares(model, keys))
    must = decided[decided["is_match"]]
    cannot = decided[~decided["is_match"]]
    edge_l = edges["left_id"].to_numpy(dtype=np.int64)
    edge_r = edges["right_id"].to_numpy(dtype=np.int64)
    edge_w = edges["match_weight"].to_numpy(dtype=np.float64)
    edge_match = edges["is_match"].to_numpy() == 1

    known = None
    if cached.records is not None:
        kept = np.isin(cached.records.record_ids, affected)
        known = cached.records.features[kept].reset_index(drop=True)
    loading = in_background(lambda: load_records(engine, obj, affected, cached.shares, known))
    # Cannot-links among the affected records, scored as a full run scores them.
    blocking = cached.keys[:, : len(model.blocking_rules)]
    left, right = pairs_with(cached.record_ids, blocking, affected, model.max_block_size)
    records = loading.result()
    affected = records.record_ids  # live records only
    kept = np.isin(edge_l, affected) & np.isin(edge_r, affected)
    inside = kept & edge_match
    both = np.isin(left, affected) & np.isin(right, affected)
    scored = score(records, left[both], right[both], model)
    no = scored.is_cannot_link
    steward_no = cannot[cannot["a"].isin(affected) & cannot["b"].isin(affected)]
    steward_must = must[must["a"].isin(affected) & must["b"].isin(affected)]
    labels = cluster(
        len(affected),
        records.positions(edge_l[inside]),
        records.positions(edge_r[inside]),
        edge_w[inside],
        np.concatenate([scored.left[no], records.positions(steward_no["a"].to_numpy())]),
        np.concatenate([scored.right[no], records.positions(steward_no["b"].to_numpy())]),
        records.positions(steward_must["a"].to_numpy()),
        records.positions(steward_must["b"].to_numpy()),
    )
    cluster_ids = affected[labels]
    strongest = strongest_inside(
        labels, records.positions(edge_l[kept]), records.positions(edge_r[kept]), edge_w[kept]
    )

    with engine.begin() as conn:
        before = pd.read_sql_query(
            text(
                f"DELETE FROM resolve.{obj}_cluster WHERE record_id = ANY(:ids) "
                "RETURNING record_id, cluster_id"
            ),
            conn,
            params={"ids": [int(i) for i in np.concatenate([affected, delta.removed])]},
        )
        copy_binary(
            conn,
            f"resolve.{obj}_cluster",
            {"record_id": affected, "cluster_id": cluster_ids, "match_weight": strongest},
        )
        was = before.set_index("record_id")["cluster_id"].reindex(affected).to_numpy()
        moved = cluster_ids != was
        touched = moved | np.isin(affected, seeds)
        frame = records.features.assign(moved=moved)
        state.mark_changed(conn, obj, frame.loc[touched, ["org", "sfid", "moved"]])
        state.mark_changed(conn, obj, state.consume_deletions(conn, obj, newest)[["org", "sfid"]])
    return DeltaClusters(
        reclustered=len(affected),
        moved=int(moved.sum()),
        must_links=len(steward_must),
        cannot_links=len(steward_no),
    )
