"""Per-org staging assets: each org's Heroku Connect tables (or the API extract's,
laid out alike), read incrementally."""

import dagster as dg

from assets.partitions import org_partitions
from assets.resources import Org360Resource, progress
from core.catalogue import OBJECTS
from warehouse.currency import stage_rates
from warehouse.staging import stage


def _staging_asset(obj: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["staging", obj],
        # An org read through the API is extracted first; a Connect org needs nothing.
        deps=[dg.AssetKey(["salesforce", obj])],
        partitions_def=org_partitions,
        group_name="staging",
        kinds={"postgres"},
        description=(
            f"One org's Heroku Connect `{obj}` table, mapped to unified field names. "
            "Reads rows changed since the watermark; deletions and vanished rows are removed."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, org360: Org360Resource) -> dg.MaterializeResult:
        settings = org360.settings()
        org = settings.org(context.partition_key)
        report = stage(org360.engine(), org, obj)
        if not report.table_found:
            context.log.warning(
                f"org {org.key!r}: table {report.source} not found; treated as empty"
            )
        progress.info(
            "staging.%s [%s]: %d live, %d changed, %d deleted, %d without sfid%s",
            obj,
            org.key,
            report.live_records,
            report.upserted,
            report.deleted,
            report.without_sfid,
            "" if report.table_found else " (table missing)",
        )
        if report.rejected:
            progress.info(
                "staging.%s [%s]: %d rows cannot be keyed and are quarantined (%s)",
                obj,
                org.key,
                sum(report.rejected.values()),
                ", ".join(f"{reason} {n}" for reason, n in sorted(report.rejected.items())),
            )
        return dg.MaterializeResult(
            metadata={
                "source": report.source,
                "table_found": report.table_found,
                "live_records": report.live_records,
                "upserted": report.upserted,
                "deleted": report.deleted,
                "left_out_without_sfid": report.without_sfid,
                "left_out_isdeleted": report.flagged_deleted,
                "failed_sync_kept": report.failed_sync,
                "full_read": report.full_read,
                "unmapped_fields": ", ".join(report.unmapped_fields) or "none",
                "quarantined": sum(report.rejected.values()),
                "quarantined_by_reason": dg.MetadataValue.json(report.rejected),
                "released": report.released,
            }
        )

    return _asset


# One per object of the catalogue.
staging_assets = [_staging_asset(obj) for obj in OBJECTS]


@dg.asset(
    key=["staging", "currency_rate"],
    deps=[dg.AssetKey(["salesforce", "currency_rate"])],
    partitions_def=org_partitions,
    group_name="staging",
    kinds={"postgres"},
    description=(
        "One org's currency rates (its Connect `currencytype` and `datedconversionrate` "
        "tables) in org360.currency_rate; an org that syncs neither keeps the rates "
        "`org360 rates load` gave it. Changed rates convert the org's opportunities again."
    ),
)
def staging_currency_rate(
    context: dg.AssetExecutionContext, org360: Org360Resource
) -> dg.MaterializeResult:
    org = org360.settings().org(context.partition_key)
    report = stage_rates(org360.engine(), org)
    progress.info(
        "staging.currency_rate [%s]: %d static, %d dated rates%s%s",
        org.key,
        report.static,
        report.dated,
        f" from {', '.join(report.tables)}" if report.tables else " (no rate tables synced)",
        ", changed" if report.changed else "",
    )
    return dg.MaterializeResult(
        metadata={
            "static_rates": report.static,
            "dated_rates": report.dated,
            "tables": ", ".join(report.tables) or "none",
            "changed": report.changed,
        }
    )
