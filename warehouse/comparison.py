"""The comparison steps: score the candidate pairs one shard owns (shards find disjoint
pairs, see dedupe.blocking) in pieces on forked workers, keep matches and review
candidates (with per-field weights) in `resolve.<obj>_pair`, and hand clustering what
it needs; or, in an incremental run, score the changed records' pairs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, text

from dedupe.blocking import BlockingReport, candidate_pairs
from dedupe.score import score_pairs
from dedupe.settings import MatchSettings
from warehouse import resolution_state, run_cache
from warehouse.fitting import FitReport
from warehouse.incremental_resolution import DeltaPairs, compare_changes
from warehouse.match_model import model_for
from warehouse.matchers import match_settings
from warehouse.parallel import fork_map


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
    settings = settings or match_settings(obj)
    if plan.incremental:
        with engine.connect() as conn:
            last = resolution_state.load_state(conn, obj)
        assert last is not None, "an incremental plan needs a previous resolution"
        delta = compare_changes(
            engine,
            obj,
            model_for(engine, obj, settings),
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
    prepared = run_cache.prepared(engine, obj, settings, run_key)
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
            resolution_state.save_pairs(conn, obj, scored, ids, shard)
        cannot = scored.is_cannot_link
        kept = scored.is_match | scored.is_review
        return ScoredPiece(
            review_pairs=int(scored.is_review.sum()),
            kept_left=ids[scored.left[kept]],
            kept_right=ids[scored.right[kept]],
            kept_weight=resolution_state.stored_weights(scored.match_weight[kept]),
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
            (lambda: run_cache.save_block_keys(engine, obj, model, prepared.features, coded, ids))
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


def plans(fitted: FitReport, shards: int) -> list[Plan]:
    """The comparison steps of a run: one per shard, or one for the changes."""
    if fitted.incremental:
        return [Plan(0, 1, fitted.newest, incremental=True)]
    return [Plan(shard, shards, fitted.newest) for shard in range(shards)]
