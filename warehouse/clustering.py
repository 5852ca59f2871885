"""The cluster step: cluster every shard's matches under the cannot-links and steward
decisions and write each record's cluster (or, in an incremental run, re-cluster what
the changes touch); then record what this resolution consumed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dedupe.cluster import cluster, strongest_inside
from dedupe.settings import MatchSettings
from warehouse import resolution_state, run_cache
from warehouse.comparison import ShardPairs
from warehouse.incremental_resolution import cluster_changes
from warehouse.match_model import model_for, stored_parameters
from warehouse.matchers import match_settings
from warehouse.sql import copy_binary, indexes_built_after, read_query
from warehouse.steward import decisions_for, steward_links


@dataclass
class ResolveReport:
    object: str
    records: int = 0
    candidate_pairs: int = 0
    matched_pairs: int = 0
    review_pairs: int = 0
    clusters: int = 0
    must_links: int = 0
    cannot_links: int = 0
    decisions_ignored: int = 0
    refitted: bool = False
    shards: int = 1
    incremental: bool = False
    changed: int = 0  # records changed (or deleted) since the last resolution
    reclustered: int = 0
    blocking: dict[str, int] = field(default_factory=dict)
    oversized_blocks: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates_found(self) -> int:
        return self.records - self.clusters


def finish(engine: Engine, obj: str, settings: MatchSettings, newest: int) -> None:
    params = stored_parameters(engine, obj)
    assert params is not None
    with engine.begin() as conn:
        resolution_state.save_state(
            conn,
            obj,
            resolution_state.ResolveState(newest, resolution_state.fingerprint(settings, params)),
        )


def _cluster_changes(
    engine: Engine, obj: str, pairs: ShardPairs, settings: MatchSettings, run_key: str
) -> ResolveReport:
    assert pairs.delta is not None
    done = cluster_changes(
        engine, obj, model_for(engine, obj, settings), pairs.delta, pairs.newest, run_key
    )
    finish(engine, obj, settings, pairs.newest)
    with engine.connect() as conn:
        # One row per live record; a cluster is named after its smallest record id.
        records, clusters = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE record_id = cluster_id) "
                f"FROM resolve.{obj}_cluster"
            )
        ).one()
    return ResolveReport(
        object=obj,
        records=records,
        candidate_pairs=pairs.candidate_pairs,
        matched_pairs=pairs.delta.matched_pairs,
        review_pairs=pairs.review_pairs,
        clusters=clusters,
        must_links=done.must_links,
        cannot_links=done.cannot_links,
        incremental=True,
        changed=len(pairs.delta.changed) + len(pairs.delta.removed),
        reclustered=done.reclustered,
    )


def cluster_object(
    engine: Engine,
    obj: str,
    shards: list[ShardPairs],
    run_key: str = "",
    settings: MatchSettings | None = None,
) -> ResolveReport:
    """Cluster every shard's matches under the cannot-links and steward decisions."""
    run_cache.forget(engine, obj, run_key)
    settings = settings or match_settings(obj)
    if len(shards) == 1 and shards[0].delta is not None:
        return _cluster_changes(engine, obj, shards[0], settings, run_key)
    decisions = decisions_for(engine, obj)
    with engine.connect() as conn:
        # Source ids only when there are steward decisions to place.
        columns = "record_id, org, sfid" if len(decisions) else "record_id"
        records = read_query(
            conn,
            f"SELECT {columns} FROM unified.{obj} ORDER BY record_id",
            text=("org", "sfid") if len(decisions) else (),
        )
    record_ids = records["record_id"].to_numpy(dtype=np.int64)
    report = ResolveReport(object=obj, records=len(records))
    shards = sorted(shards, key=lambda s: s.shard)

    # Record id -> position, by hash: the edges' ids come in no order.
    index = pd.Index(record_ids)

    def positions(name: str) -> np.ndarray:
        values = np.concatenate([getattr(s, name) for s in shards] or [np.empty(0, np.int64)])
        return index.get_indexer(values.astype(np.int64)).astype(np.int64)

    kept_left, kept_right = positions("kept_left"), positions("kept_right")
    kept_weight = np.concatenate([s.kept_weight for s in shards] or [np.empty(0)])
    is_match = np.concatenate([s.kept_is_match for s in shards] or [np.empty(0, bool)])
    must, cannot, report.decisions_ignored = steward_links(records, decisions)
    report.must_links, report.cannot_links = len(must[0]), len(cannot[0])
    labels = cluster(
        len(records),
        kept_left[is_match],
        kept_right[is_match],
        kept_weight[is_match],
        np.concatenate([positions("cannot_left"), cannot[0]]),
        np.concatenate([positions("cannot_right"), cannot[1]]),
        must[0],
        must[1],
    )
    report.candidate_pairs = sum(s.candidate_pairs for s in shards)
    report.matched_pairs = int(is_match.sum())
    report.review_pairs = sum(s.review_pairs for s in shards)
    # Labels are positions of records: count the distinct ones without sorting.
    report.clusters = int(np.count_nonzero(np.bincount(labels, minlength=1)))
    report.shards = len(shards)
    for s in shards:
        for b in s.blocking:
            report.blocking[b.rule] = report.blocking.get(b.rule, 0) + b.new_pairs
            if b.oversized_blocks:
                report.oversized_blocks[b.rule] = (
                    report.oversized_blocks.get(b.rule, 0) + b.oversized_blocks
                )
    newest = max((s.newest for s in shards), default=0)
    strongest = strongest_inside(labels, kept_left, kept_right, kept_weight)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_cluster")
        with indexes_built_after(conn, "resolve", f"{obj}_cluster"):
            copy_binary(
                conn,
                f"resolve.{obj}_cluster",
                {
                    "record_id": record_ids,
                    "cluster_id": record_ids[labels],
                    "match_weight": strongest,
                },
            )
        conn.exec_driver_sql(f"ANALYZE resolve.{obj}_pair, resolve.{obj}_cluster")
        # Publication rebuilds every golden record of the object.
        resolution_state.consume_deletions(conn, obj, newest)
        resolution_state.mark_rebuild(conn, obj)
    finish(engine, obj, settings, newest)
    report.changed = report.records
    report.reclustered = report.records
    return report
