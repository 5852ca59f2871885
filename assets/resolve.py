"""Resolution: candidate pairs scored by the matcher, and the clusters they form.

Each object's resolution is a graph of steps: fit the model, score the candidate
pairs in `compare_shards` shards (one step each, mapped dynamically, so the
multiprocess, Kubernetes or Celery executor runs them side by side), then cluster
what every shard found. Steps hand each other only the match and cannot-link edges
(by record id); records, features and kept pairs live in Postgres.
"""

import dagster as dg

from pipelines.resources import Org360Resource, progress
from pipelines.warehouse.resolve import ShardPairs, cluster_object, compare_shard, fit_model

_UPSTREAM = {
    "account": {"unified": dg.AssetKey(["unified", "account"])},
    # Contacts compare their accounts through the account clusters.
    "contact": {
        "unified": dg.AssetKey(["unified", "contact"]),
        "account_clusters": dg.AssetKey(["resolve", "account_cluster"]),
    },
}


def _resolve_asset(obj: str) -> dg.AssetsDefinition:
    upstream = _UPSTREAM[obj]

    @dg.op(
        name=f"fit_{obj}_model",
        ins={name: dg.In(dg.Nothing) for name in upstream},
        # (shard, shards): every comparison step splits the work the way this one planned.
        out=dg.DynamicOut(tuple),
        description=f"Fit the {obj} match model (or keep the stored one) and plan the shards.",
    )
    def fit_step(context: dg.OpExecutionContext, org360: Org360Resource):
        shards = org360.settings().compare_shards
        report = fit_model(org360.engine(), obj, run_key=context.run_id)
        context.log.info(
            "resolve.%s: %d records, model %s, %d comparison shards",
            obj,
            report.records,
            "refitted" if report.refitted else "reused",
            shards,
        )
        for shard in range(shards):
            yield dg.DynamicOutput((shard, shards), mapping_key=str(shard))

    @dg.op(name=f"compare_{obj}s", description=f"Score the {obj} pairs one shard owns.")
    def compare_step(context: dg.OpExecutionContext, org360: Org360Resource, plan: tuple):
        shard, shards = plan
        result = compare_shard(org360.engine(), obj, shard, shards, run_key=context.run_id)
        context.log.info(
            "resolve.%s shard %d/%d: %d candidate pairs, %d matches",
            obj,
            shard,
            shards,
            result.candidate_pairs,
            len(result.match_weight),
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
            "resolve.%s: %d records, %d candidate pairs in %d shards, %d matches, "
            "%d for review, %d clusters (%d duplicates)",
            obj,
            report.records,
            report.candidate_pairs,
            report.shards,
            report.matched_pairs,
            report.review_pairs,
            report.clusters,
            report.duplicates_found,
        )
        context.add_output_metadata(
            {
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


resolve_accounts = _resolve_asset("account")
resolve_contacts = _resolve_asset("contact")
