"""The fit step: fit the match model to the data (or keep the stored one) and decide
whether this run scores every pair or only the changed records' pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, text

from core.catalogue import CATALOGUE
from dedupe.estimate import MODEL_VERSION, fit, parameters
from dedupe.score import CodedColumns
from dedupe.settings import MatchSettings
from warehouse import resolution_state, run_cache
from warehouse.frames import load_frame
from warehouse.incremental_resolution import INCREMENTAL_LIMIT
from warehouse.match_model import REFIT_CHANGE, store_parameters, stored_parameters
from warehouse.matchers import match_settings, matcher_for
from warehouse.parallel import fork_map
from warehouse.sql import newest_change


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
    # What the fit learnt, when it refitted: the prior, and what breaking the match
    # rule weighs (None: not measured, a ban).
    prior_weight: float | None = None
    rule_penalties: tuple[float | None, float | None] = (None, None)


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
        last = resolution_state.load_state(conn, obj)
        # Records compared through their parents' clusters (contacts through accounts'):
        # a parent resolved whole may have renumbered every cluster.
        upstream_rebuilt = conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM resolve.rebuild WHERE object = ANY(:parents))"),
            {"parents": sorted(set(CATALOGUE[obj].parents.values()))},
        ).scalar()
    if last is None or upstream_rebuilt:
        return False, records
    if last.fingerprint != resolution_state.fingerprint(settings, params):
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
    settings = settings or match_settings(obj)
    with engine.connect() as conn:
        newest = newest_change(conn)
        records = conn.execute(text(f"SELECT count(*) FROM unified.{obj}")).scalar_one()
    stored = stored_parameters(engine, obj)
    reuse = (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(records - stored["records"]) <= REFIT_CHANGE * max(stored["records"], 1)
    )
    if not reuse:
        frame = load_frame(engine, obj)
        features = matcher_for(obj).features(frame.reset_index(drop=True))
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
                (
                    lambda: run_cache.save_block_keys(
                        engine, obj, settings, features, coded, record_ids
                    )
                )
                if keys_here
                else None
            ),
        )
        stored = parameters(fitted, len(frame))
        store_parameters(engine, obj, stored)
        prepared = run_cache.prepare(frame, features, settings, stored)
        prepared.coded, prepared.keys_saved = coded, keys_here
        run_cache.PREPARED[run_cache.cache_key(engine, obj, run_key)] = prepared
    learnt = {}
    if not reuse:
        learnt = {
            "prior_weight": fitted.prior_weight,
            "rule_penalties": (fitted.required_all_penalty, fitted.required_any_penalty),
        }
    incremental, changed = (False, records)
    if reuse and not full:
        incremental, changed = _incremental(engine, obj, settings, stored, records)
    if not incremental:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_pair")
            resolution_state.forget_state(conn, obj)
    return FitReport(
        object=obj,
        records=records,
        refitted=not reuse,
        incremental=incremental,
        changed=changed,
        newest=int(newest),
        **learnt,
    )
