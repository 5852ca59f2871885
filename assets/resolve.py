"""Resolution: candidate pairs scored by the matcher, and the clusters they form.

Each object's resolution is a graph of steps: fit the model, score the candidate
pairs in `compare_shards` shards (one step each, mapped dynamically, so the
multiprocess, Kubernetes or Celery executor runs them side by side), then cluster
what every shard found. Steps hand each other only the match and cannot-link edges
(by record id); records, features and kept pairs live in Postgres.
"""

import dagster as dg
from pydantic import Field

from assets.resources import Org360Resource, progress
from core.catalogue import CATALOGUE
from warehouse.clustering import cluster_object
from warehouse.comparison import Plan, ShardPairs, compare_shard, plans
from warehouse.fitting import FitReport, fit_model
from warehouse.linking import link_records


def _upstream(obj: str) -> dict[str, dg.AssetKey]:
    """The object's unified records, and its parents' clusters (contacts are compared
    through their accounts' clusters)."""
    parents = dict.fromkeys(CATALOGUE[obj].parents.values())
    return {
        "unified": dg.AssetKey(["unified", obj]),
        **{
            f"{parent}_clusters": dg.AssetKey(["resolve", f"{parent}_cluster"])
            for parent in parents
        },
    }


class FitConfig(dg.Config):
    """Run config of a fit step (in the launchpad: ops > resolve_<object>s > ops >
    fit_<object>_model > config)."""

    full: bool = Field(
        default=False,
        description="Rescore every pair even when only a few records changed.",
    )


def _learnt(report: FitReport) -> str:
    """The refitted model in a line: the prior and the match rule's measured weight."""
    prior = f"1 in {round(2**-report.prior_weight):,} pairs match"
    measured = [f"{p:+.1f}" for p in report.rule_penalties if p is not None]
    rule = f"breaking the match rule {'/'.join(measured)} bits" if measured else "match rule a ban"
    return f"refitted ({prior}; {rule}; `org360 model` shows it all)"


def _resolve_asset(obj: str) -> dg.AssetsDefinition:
    upstream = _upstream(obj)

    @dg.op(
        name=f"fit_{obj}_model",
        ins={name: dg.In(dg.Nothing) for name in upstream},
        # Every comparison step does the work this one planned: a shard of all pairs,
        # or (an incremental run) the changed records' pairs.
        out=dg.DynamicOut(Plan),
        description=f"Fit the {obj} match model (or keep the stored one) and plan the "
        "comparisons: every pair in shards, or only the changed records' pairs.",
    )
    def fit_step(context: dg.OpExecutionContext, org360: Org360Resource, config: FitConfig):
        report = fit_model(
            org360.engine(),
            obj,
            run_key=context.run_id,
            full=config.full,
            workers=org360.compare_workers,
        )
        steps = plans(report, org360.compare_shards or org360.settings().compare_shards)
        context.log.info(
            "resolve.%s: %d records, model %s, %s",
            obj,
            report.records,
            _learnt(report) if report.refitted else "reused",
            f"{report.changed} changed: incremental"
            if report.incremental
            else f"full, {len(steps)} comparison shards",
        )
        for plan in steps:
            yield dg.DynamicOutput(plan, mapping_key=str(plan.shard))

    @dg.op(name=f"compare_{obj}s", description=f"Score the {obj} pairs one shard owns.")
    def compare_step(context: dg.OpExecutionContext, org360: Org360Resource, plan: Plan):
        result = compare_shard(
            org360.engine(), obj, plan, run_key=context.run_id, workers=org360.compare_workers
        )
        context.log.info(
            "resolve.%s %s: %d candidate pairs scored",
            obj,
            "changes" if plan.incremental else f"shard {plan.shard}/{plan.shards}",
            result.candidate_pairs,
        )
        return result

    @dg.op(
        name=f"cluster_{obj}s",
        out={"pair": dg.Out(dg.Nothing), "cluster": dg.Out(dg.Nothing)},
        description=f"Cluster the {obj} matches under cannot-links and steward decisions.",
    )
    def cluster_step(
        context: dg.OpExecutionContext, org360: Org360Resource, shards: list[ShardPairs]
    ):
        report = cluster_object(org360.engine(), obj, shards, run_key=context.run_id)
        progress.info(
            "resolve.%s: %d records, %s: %d candidate pairs scored, %d matches, "
            "%d for review; %d clusters (%d duplicates)",
            obj,
            report.records,
            f"incremental ({report.changed} changed, {report.reclustered} re-clustered)"
            if report.incremental
            else f"full ({report.shards} shards)",
            report.candidate_pairs,
            report.matched_pairs,
            report.review_pairs,
            report.clusters,
            report.duplicates_found,
        )
        context.add_output_metadata(
            {
                "incremental": report.incremental,
                "records_changed": report.changed,
                "records_reclustered": report.reclustered,
                "candidate_pairs": report.candidate_pairs,
                "comparison_shards": report.shards,
                "steward_must_links": report.must_links,
                "steward_cannot_links": report.cannot_links,
                "steward_decisions_on_deleted_records": report.decisions_ignored,
                "matched_pairs": report.matched_pairs,
                "review_pairs": report.review_pairs,
                "pairs_per_blocking_rule": dg.MetadataValue.json(report.blocking),
                "oversized_blocks_skipped": dg.MetadataValue.json(report.oversized_blocks),
            },
            output_name="pair",
        )
        context.add_output_metadata(
            {
                "dagster/row_count": report.records,
                "clusters": report.clusters,
                "duplicates_found": report.duplicates_found,
            },
            output_name="cluster",
        )
        yield dg.Output(None, output_name="pair")
        yield dg.Output(None, output_name="cluster")

    def spec(name: str, description: str) -> dg.AssetOut:
        return dg.AssetOut(
            key=["resolve", f"{obj}_{name}"],
            dagster_type=dg.Nothing,
            kinds={"postgres", "python"},
            automation_condition=dg.AutomationCondition.eager(),
            description=description,
        )

    @dg.graph_multi_asset(
        name=f"resolve_{obj}s",
        group_name="resolve",
        ins={name: dg.AssetIn(key=key, dagster_type=dg.Nothing) for name, key in upstream.items()},
        outs={
            "pair": spec(
                "pair",
                f"Scored {obj} pairs worth keeping (matches and review candidates) with "
                "per-field match weights.",
            ),
            "cluster": spec(
                "cluster", f"Each unified {obj}'s cluster (one cluster per real-world entity)."
            ),
        },
    )
    def _asset(**inputs):
        shards = fit_step(**inputs)
        pair, cluster = cluster_step(shards.map(compare_step).collect())
        return {"pair": pair, "cluster": cluster}

    return _asset


def _link_asset(obj: str) -> dg.AssetsDefinition:
    """An object whose duplicates are not looked for: each record its own cluster."""

    @dg.asset(
        key=["resolve", f"{obj}_cluster"],
        deps=list(_upstream(obj).values()),
        group_name="resolve",
        kinds={"postgres"},
        automation_condition=dg.AutomationCondition.eager(),
        description=f"Each unified {obj} is an entity of its own (not deduplicated).",
    )
    def _asset(org360: Org360Resource) -> dg.MaterializeResult:
        report = link_records(org360.engine(), obj)
        progress.info(
            "resolve.%s: %d records, %s: %d changed, %d deleted (not deduplicated)",
            obj,
            report.records,
            "incremental" if report.incremental else "full",
            report.changed,
            report.deleted,
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": report.records,
                "incremental": report.incremental,
                "records_changed": report.changed,
                "records_deleted": report.deleted,
            }
        )

    return _asset


# One per object: resolved by its matcher, or each record its own entity.
resolve_assets = [
    _resolve_asset(obj) if spec.resolved else _link_asset(obj) for obj, spec in CATALOGUE.items()
]
