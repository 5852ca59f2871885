"""Resolution: candidate pairs scored by the matcher, and the clusters they form."""

import dagster as dg

from pipelines.resources import Org360Resource, progress
from pipelines.warehouse.resolve import resolve_object

_UPSTREAM = {
    "account": [dg.AssetKey(["unified", "account"])],
    # Contacts compare their accounts through the account clusters.
    "contact": [dg.AssetKey(["unified", "contact"]), dg.AssetKey(["resolve", "account_cluster"])],
}


def _resolve_asset(obj: str) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"resolve_{obj}s",
        specs=[
            dg.AssetSpec(
                ["resolve", f"{obj}_pair"],
                deps=_UPSTREAM[obj],
                group_name="resolve",
                kinds={"postgres", "python"},
                automation_condition=dg.AutomationCondition.eager(),
                description=f"Scored {obj} pairs worth keeping (matches and review "
                "candidates) with per-field match weights.",
            ),
            dg.AssetSpec(
                ["resolve", f"{obj}_cluster"],
                deps=_UPSTREAM[obj],
                group_name="resolve",
                kinds={"postgres", "python"},
                automation_condition=dg.AutomationCondition.eager(),
                description=f"Each unified {obj}'s cluster (one cluster per real-world entity).",
            ),
        ],
    )
    def _asset(org360: Org360Resource):
        report = resolve_object(org360.engine(), obj)
        progress.info(
            "resolve.%s: %d records, %d candidate pairs, %d matches, %d for review, "
            "%d clusters (%d duplicates)",
            obj,
            report.records,
            report.candidate_pairs,
            report.matched_pairs,
            report.review_pairs,
            report.clusters,
            report.duplicates_found,
        )
        yield dg.MaterializeResult(
            asset_key=["resolve", f"{obj}_pair"],
            metadata={
                "candidate_pairs": report.candidate_pairs,
                "model_refitted": report.refitted,
                "steward_must_links": report.must_links,
                "steward_cannot_links": report.cannot_links,
                "steward_decisions_on_deleted_records": report.decisions_ignored,
                "matched_pairs": report.matched_pairs,
                "review_pairs": report.review_pairs,
                "pairs_per_blocking_rule": dg.MetadataValue.json(report.blocking),
                "oversized_blocks_skipped": dg.MetadataValue.json(report.oversized_blocks),
            },
        )
        yield dg.MaterializeResult(
            asset_key=["resolve", f"{obj}_cluster"],
            metadata={
                "dagster/row_count": report.records,
                "clusters": report.clusters,
                "duplicates_found": report.duplicates_found,
            },
        )

    return _asset


resolve_accounts = _resolve_asset("account")
resolve_contacts = _resolve_asset("contact")
