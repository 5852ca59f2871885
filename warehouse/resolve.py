"""Resolve: run the matcher over every unified record of an object and store its output.

Three steps, so the comparisons can run anywhere: `fit_model` fits (or keeps) the
model; `compare_shard` scores the candidate pairs one shard owns (shards find
disjoint pairs, see dedupe.blocking) and writes those worth keeping (matches and
review candidates, with per-field weights) with COPY; `cluster_object` clusters
every shard's matches and writes each record's cluster. Each step reads only the
match keys it needs (a narrow frame) from Postgres.

When few records changed since the last resolution (and the model and rules are the
same), the fit step plans one comparison step for the changes instead, and the
cluster step re-clusters only what they touch (`resolve_delta`); both leave the
changed source records in `resolve.changed` for the golden builds and publication.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dedupe.blocking import BlockingReport, BlockKeys, block_keys, candidate_pairs, key_hashes
from dedupe.cluster import cluster, strongest_inside
from dedupe.estimate import MODEL_VERSION, fit, parameters, with_parameters
from dedupe.features import FEATURES
from dedupe.score import CodedColumns, entity_codes, score_pairs
from dedupe.settings import DEFAULT_SETTINGS, MatchSettings
from warehouse import resolve_state
from warehouse.frames import load_frame
from warehouse.parallel import fork_map
from warehouse.resolve_delta import (
    INCREMENTAL_LIMIT,
    DeltaPairs,
    cluster_changes,
    compare_changes,
)
from warehouse.sql import copy_binary, indexes_built_after, newest_change, read_query
from warehouse.steward import decisions_for


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


# Refit the model's u values and prior when the data grew or shrank by more than this.
REFIT_CHANGE = 0.10


def _stored_parameters(engine: Engine, obj: str) -> dict | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT parameters FROM org360.match_model WHERE object = :obj"), {"obj": obj}
        ).scalar()


def _store_parameters(engine: Engine, obj: str, params: dict) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org360.match_model (object, parameters) "
                "VALUES (:obj, CAST(:params AS jsonb)) "
                "ON CONFLICT (object) DO UPDATE SET parameters = excluded.parameters, "
                "fitted_at = now()"
            ),
            {"obj": obj, "params": json.dumps(params)},
        )


@dataclass
class Prepared:
    """What every comparison shard of one object works on, in one run."""

    features: pd.DataFrame
    settings: MatchSettings
    record_ids: np.ndarray
    previous: np.ndarray
    keys: BlockKeys | None = None
    coded: CodedColumns | None = None
    # Every record's blocking keys are stored already (by the fit step of this run).
    keys_saved: bool = False

    def columns(self) -> CodedColumns:
        if self.coded is None:
            self.coded = CodedColumns(self.features)
        return self.coded

    def block_keys(self) -> BlockKeys:
        if self.keys is None:
            model = self.settings
            self.keys = block_keys(
                self.features, model.blocking_rules, model.max_block_size, self.columns()
            )
        return self.keys


# Shards that run in one process (the in-process executor, `resolve_object`) share the
# loaded records and their features instead of each loading them again. Keyed by run.
_PREPARED: dict[tuple[str, str, str], Prepared] = {}


def _cache_key(engine: Engine, obj: str, run_key: str) -> tuple[str, str, str]:
    return (engine.url.render_as_string(hide_password=True), obj, run_key)


def _prepare(
    frame: pd.DataFrame, features: pd.DataFrame, settings: MatchSettings, params: dict
) -> Prepared:
    return Prepared(
        features=features,
        settings=with_parameters(settings, params),
        record_ids=frame["record_id"].to_numpy(dtype=np.int64),
        previous=entity_codes(frame["previous"].to_numpy(dtype=object)),
    )


def _prepared(engine: Engine, obj: str, settings: MatchSettings, run_key: str) -> Prepared:
    key = _cache_key(engine, obj, run_key)
    if key not in _PREPARED:
        params = _stored_parameters(engine, obj)
        if params is None:
            raise RuntimeError(f"resolve.{obj}: no fitted model; the fit step runs first")
        frame = load_frame(engine, obj)
        features = FEATURES[obj](frame.reset_index(drop=True))
        _PREPARED[key] = _prepare(frame, features, settings, params)
    return _PREPARED[key]


def _save_block_keys(
    engine: Engine,
    obj: str,
    settings: MatchSettings,
    features: pd.DataFrame,
    coded: CodedColumns,
    record_ids: np.ndarray,
) -> None:
    """Every record's blocking keys, for the incremental runs that follow."""
    hashes = key_hashes(features, resolve_state.stored_rules(settings), coded)
    with engine.begin() as conn:
        resolve_state.save_block_keys(conn, obj, record_ids, hashes)


@dataclass
class FitReport:
    object: str
    records: int
    refitted: bool
    # Score only the changed records' pairs (one step), not every pair (in shards).
    incremental: bool = False
    changed: int = 0
    # The unified change sequence this resolution reads up to.
    newest: int = 0


def _changes_since(engine: Engine, obj: str, since: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT (SELECT count(*) FROM unified.{obj} WHERE change_seq > :since) + "
                "(SELECT count(*) FROM unified.deletion WHERE object = :obj "
                "AND change_seq > :since)"
            ),
            {"since": since, "obj": obj},
        ).scalar_one()


def _incremental(
    engine: Engine, obj: str, settings: MatchSettings, params: dict, records: int
) -> tuple[bool, int]:
    """Whether the stored pairs let this run score only the changes, and how many."""
    with engine.connect() as conn:
        last = resolve_state.load_state(conn, obj)
        # Contacts are compared through account clusters: all of them moved or none.
        upstream_rebuilt = (
            obj == "contact"
            and conn.execute(
                text("SELECT EXISTS (SELECT 1 FROM resolve.rebuild WHERE object = 'account')")
            ).scalar()
        )
    if last is None or upstream_rebuilt:
        return False, records
    if last.fingerprint != resolve_state.fingerprint(settings, params):
        return False, records
    changed = _changes_since(engine, obj, last.change_seq)
    return changed <= INCREMENTAL_LIMIT * max(records, 1), changed


def fit_model(
    engine: Engine,
    obj: str,
    settings: MatchSettings | None = None,
    run_key: str = "",
    full: bool = False,
    workers: int = 1,
) -> FitReport:
    """Fit the model to the data, or keep the stored one while it still describes them;
    decide whether this run scores every pair or only the changed records' pairs."""
    settings = settings or DEFAULT_SETTINGS[obj]
    with engine.connect() as conn:
        newest = newest_change(conn)
        records = conn.execute(text(f"SELECT count(*) FROM unified.{obj}")).scalar_one()
    stored = _stored_parameters(engine, obj)
    reuse = (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(records - stored["records"]) <= REFIT_CHANGE * max(stored["records"], 1)
    )
    if not reuse:
        frame = load_frame(engine, obj)
        features = FEATURES[obj](frame.reset_index(drop=True))
        # Factorised once, for the fit, the stored keys and every comparison shard.
        coded = CodedColumns(features).precompute(settings)
        record_ids = frame["record_id"].to_numpy(dtype=np.int64)
        # With workers to spare, the model is fitted on one while this process stores
        # every record's blocking keys (the model does not change them); else the
        # first comparison shard stores them, wherever it runs.
        keys_here = workers > 1
        (fitted,) = fork_map(
            lambda _: fit(features, settings, coded),
            1,
            workers,
            alongside=(
                (lambda: _save_block_keys(engine, obj, settings, features, coded, record_ids))
                if keys_here
                else None
            ),
        )
        stored = parameters(fitted, len(frame))
        _store_parameters(engine, obj, stored)
        prepared = _prepare(frame, features, settings, stored)
        prepared.coded, prepared.keys_saved = coded, keys_here
        _PREPARED[_cache_key(engine, obj, run_key)] = prepared
    incremental, changed = (False, records)
    if reuse and not full:
        incremental, changed = _incremental(engine, obj, settings, stored, records)
    if not incremental:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_pair")
            resolve_state.forget_state(conn, obj)
    return FitReport(
        object=obj,
        records=records,
        refitted=not reuse,
        incremental=incremental,
        changed=changed,
        newest=int(newest),
    )


@dataclass(frozen=True)
class Plan:
    """What one comparison step does: its shard of a full run, or the changes."""

    shard: int
    shards: int
    newest: int
    incremental: bool = False


# Fewer candidate pairs than this per worker are scored in the step's own process:
# forking costs more than it saves.
MIN_PAIRS_PER_WORKER = 200_000
# More than this in one scoring call holds too much memory at once (levels and weights
# per comparison and pair): a shard's pairs are scored in pieces of at most this many.
MAX_PAIRS_PER_PIECE = 750_000


@dataclass
class ScoredPiece:
    """Of some scored pairs, what clustering needs, by record id (the kept pairs are
    in Postgres): what a worker returns, and (with more) what a shard does."""

    review_pairs: int
    # Every kept pair (matches and review candidates) with its weight as stored: the
    # matches cluster (as in an incremental run, which reads them back), and each
    # record's strongest kept pair inside its cluster is written with the cluster.
    kept_left: np.ndarray
    kept_right: np.ndarray
    kept_weight: np.ndarray
    kept_is_match: np.ndarray
    cannot_left: np.ndarray
    cannot_right: np.ndarray


@dataclass
class ShardPairs(ScoredPiece):
    """One shard's scored pairs that clustering needs, by record id."""

    shard: int
    candidate_pairs: int
    blocking: list[BlockingReport] = field(default_factory=list)
    newest: int = 0
    # An incremental run's changes (its pairs are in Postgres, not here).
    delta: DeltaPairs | None = None


def _model(engine: Engine, obj: str, settings: MatchSettings) -> MatchSettings:
    params = _stored_parameters(engine, obj)
    if params is None:
        raise RuntimeError(f"resolve.{obj}: no fitted model; the fit step runs first")
    return with_parameters(settings, params)


def compare_shard(
    engine: Engine,
    obj: str,
    plan: Plan,
    settings: MatchSettings | None = None,
    run_key: str = "",
    workers: int = 1,
) -> ShardPairs:
    """Score the candidate pairs this shard owns; keep matches and review candidates
    (with per-field weights) in `resolve.<obj>_pair`, return what clustering needs.
    An incremental plan scores the changed records' pairs instead. Up to `workers`
    forked processes share the scoring."""
    settings = settings or DEFAULT_SETTINGS[obj]
    if plan.incremental:
        with engine.connect() as conn:
            last = resolve_state.load_state(conn, obj)
        assert last is not None, "an incremental plan needs a previous resolution"
        delta = compare_changes(
            engine,
            obj,
            _model(engine, obj, settings),
            last.change_seq,
            run_key,
        )
        empty = np.empty(0, dtype=np.int64)
        return ShardPairs(
            shard=0,
            candidate_pairs=delta.candidate_pairs,
            review_pairs=delta.review_pairs,
            kept_left=empty,
            kept_right=empty,
            kept_weight=np.empty(0, dtype=np.float64),
            kept_is_match=np.empty(0, dtype=bool),
            cannot_left=empty,
            cannot_right=empty,
            newest=plan.newest,
            delta=delta,
        )
    shard, shards = plan.shard, plan.shards
    prepared = _prepared(engine, obj, settings, run_key)
    model = prepared.settings
    left, right, blocking = candidate_pairs(
        prepared.features,
        model.blocking_rules,
        model.max_block_size,
        shard,
        shards,
        keys=prepared.block_keys(),
    )
    coded, ids = prepared.columns().precompute(model), prepared.record_ids
    # Pieces of the shard's pairs, scored on forked workers that share the features.
    pieces = max(
        1, min(workers, len(left) // MIN_PAIRS_PER_WORKER), -(-len(left) // MAX_PAIRS_PER_PIECE)
    )
    if pieces > workers > 1:
        # A multiple of the workers, so none is left scoring the last piece alone.
        pieces = -(-pieces // workers) * workers
    bounds = np.linspace(0, len(left), pieces + 1).astype(np.int64)

    def score_piece(index: int) -> ScoredPiece:
        lo, hi = bounds[index], bounds[index + 1]
        scored = score_pairs(
            prepared.features,
            left[lo:hi],
            right[lo:hi],
            model,
            coded=coded,
            previous=prepared.previous,
        )
        with engine.begin() as conn:
            resolve_state.save_pairs(conn, obj, scored, ids, shard)
        cannot = scored.is_cannot_link
        kept = scored.is_match | scored.is_review
        return ScoredPiece(
            review_pairs=int(scored.is_review.sum()),
            kept_left=ids[scored.left[kept]],
            kept_right=ids[scored.right[kept]],
            kept_weight=resolve_state.stored_weights(scored.match_weight[kept]),
            kept_is_match=scored.is_match[kept],
            cannot_left=ids[scored.left[cannot]],
            cannot_right=ids[scored.right[cannot]],
        )

    with engine.begin() as conn:
        # A retried shard replaces what it wrote before.
        conn.execute(text(f"DELETE FROM resolve.{obj}_pair WHERE shard = :s"), {"s": shard})
    scored = fork_map(
        score_piece,
        pieces,
        workers,
        engines=[engine],
        alongside=(
            (lambda: _save_block_keys(engine, obj, model, prepared.features, coded, ids))
            if shard == 0 and not prepared.keys_saved
            else None
        ),
    )
    return ShardPairs(
        shard=shard,
        newest=plan.newest,
        candidate_pairs=len(left),
        review_pairs=sum(p.review_pairs for p in scored),
        blocking=blocking,
        **{
            name: np.concatenate([getattr(p, name) for p in scored])
            for name in (
                "kept_left",
                "kept_right",
                "kept_weight",
                "kept_is_match",
                "cannot_left",
                "cannot_right",
            )
        },
    )


def _finish(engine: Engine, obj: str, settings: MatchSettings, newest: int) -> None:
    params = _stored_parameters(engine, obj)
    assert params is not None
    with engine.begin() as conn:
        resolve_state.save_state(
            conn,
            obj,
            resolve_state.ResolveState(newest, resolve_state.fingerprint(settings, params)),
        )


def _cluster_changes(
    engine: Engine, obj: str, pairs: ShardPairs, settings: MatchSettings, run_key: str
) -> ResolveReport:
    assert pairs.delta is not None
    done = cluster_changes(
        engine, obj, _model(engine, obj, settings), pairs.delta, pairs.newest, run_key
    )
    _finish(engine, obj, settings, pairs.newest)
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
    _PREPARED.pop(_cache_key(engine, obj, run_key), None)
    settings = settings or DEFAULT_SETTINGS[obj]
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
        resolve_state.consume_deletions(conn, obj, newest)
        resolve_state.mark_rebuild(conn, obj)
    _finish(engine, obj, settings, newest)
    report.changed = report.records
    report.reclustered = report.records
    return report


def plans(fitted: FitReport, shards: int) -> list[Plan]:
    """The comparison steps of a run: one per shard, or one for the changes."""
    if fitted.incremental:
        return [Plan(0, 1, fitted.newest, incremental=True)]
    return [Plan(shard, shards, fitted.newest) for shard in range(shards)]


def resolve_object(
    engine: Engine,
    obj: str,
    settings: MatchSettings | None = None,
    shards: int = 1,
    full: bool = False,
    workers: int = 1,
) -> ResolveReport:
    """The whole resolution of one object in this process: fit, every shard (or the
    changes), cluster."""
    run_key = f"local-{uuid.uuid4().hex}"
    fitted = fit_model(engine, obj, settings, run_key, full=full, workers=workers)
    try:
        results = [
            compare_shard(engine, obj, plan, settings=settings, run_key=run_key, workers=workers)
            for plan in plans(fitted, shards)
        ]
    finally:
        _PREPARED.pop(_cache_key(engine, obj, run_key), None)
    report = cluster_object(engine, obj, results, run_key, settings)
    report.refitted = fitted.refitted
    return report
