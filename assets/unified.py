"""The unified model: every org's records normalised into one shape."""

import dagster as dg

from pipelines.resources import Org360Resource, progress
from pipelines.warehouse.unified import unify


def _unified_asset(obj: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["unified", obj],
        deps=[dg.AssetKey(["staging", obj])],
        group_name="unified",
        kinds={"postgres", "python"},
        automation_condition=dg.AutomationCondition.eager(),
        description=(
            f"Normalised {obj}s of all orgs: clean names, E.164 phones, ISO countries, "
            "domains, typed numbers and dates, and match keys. Only changed records are "
            "normalised again."
        ),
    )
    def _asset(org360: Org360Resource) -> dg.MaterializeResult:
        report = unify(org360.engine(), obj)
        progress.info(
            "unified.%s: %d normalised, %d deleted, %d records",
            obj,
            report.normalised,
            report.deleted,
            report.records,
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": report.records,
                "normalised": report.normalised,
                "deleted": report.deleted,
                "batches": report.batches,
            }
        )

    return _asset


unified_account = _unified_asset("account")
unified_contact = _unified_asset("contact")
