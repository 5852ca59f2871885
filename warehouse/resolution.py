"""Resolution of one object in three kinds of steps, so the comparisons can run
anywhere: `fitting.fit_model` fits (or keeps) the model; `comparison.compare_shard`
scores the pairs one shard owns; `clustering.cluster_object` clusters every shard's
matches. Each step reads only the match keys it needs (a narrow frame) from Postgres.

When few records changed since the last resolution (and the model and rules are the
same), the fit step plans one comparison step for the changes instead, and the
cluster step re-clusters only what they touch (`incremental_resolution`); both leave
the changed source records in `resolve.changed` for the golden builds and publication.

`resolve_object` runs them all in this process.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from dedupe.settings import MatchSettings
from warehouse import run_cache
from warehouse.clustering import ResolveReport, cluster_object
from warehouse.comparison import compare_shard, plans
from warehouse.fitting import fit_model


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
        run_cache.forget(engine, obj, run_key)
    report = cluster_object(engine, obj, results, run_key, settings)
    report.refitted = fitted.refitted
    return report
