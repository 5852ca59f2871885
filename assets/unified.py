"""The unified model: every org's records normalised into one shape."""

import dagster as dg

from assets.resources import Org360Resource, progress
from core.catalogue import CATALOGUE, OBJECTS
from warehouse.unified import unify


def _unified_asset(obj: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["unified", obj],
        deps=[dg.AssetKey(["staging", obj])],
        group_name="unified",
        kinds={"postgres", "python"},
        automation_condition=dg.AutomationCondition.eager(),
        description=(
            f"Normalised {CATALOGUE[obj].plural_name} of all orgs: clean names, E.164 "
            "phones, ISO countries, domains, typed numbers and dates, and match keys. Only "
            "changed records are normalised again. Records with nothing to recognise them "
            "by are quarantined (unified.rejected) instead."
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
        if report.cleaned:
            progress.info(
                "unified.%s: values cleaned in this run's records: %s",
                obj,
                ", ".join(f"{what} {n}" for what, n in sorted(report.cleaned.items())),
            )
        if report.rejected or report.released:
            progress.info(
                "unified.%s: %d records quarantined (%s), %d released by this run",
                obj,
                sum(report.rejected.values()),
                ", ".join(f"{reason} {n}" for reason, n in report.rejected.items()) or "none",
                report.released,
            )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": report.records,
                "normalised": report.normalised,
                "deleted": report.deleted,
                "batches": report.batches,
                "values_cleaned": dg.MetadataValue.json(dict(sorted(report.cleaned.items()))),
                "quarantined": sum(report.rejected.values()),
                "quarantined_by_reason": dg.MetadataValue.json(report.rejected),
                "released": report.released,
            }
        )

    return _asset


# One per object of the catalogue.
unified_assets = [_unified_asset(obj) for obj in OBJECTS]
