"""Orgs without Heroku Connect: one extract asset per object, partitioned by org like
staging (which reads what it writes), and the write-back of golden ids after each
publication."""

import dagster as dg

from assets.partitions import org_partitions
from assets.resources import Org360Resource, progress
from core.catalogue import CATALOGUE, OBJECTS
from salesforce_api.connection import SalesforceSourceError, connection_for
from salesforce_api.extract import ExtractReport, extract_table
from salesforce_api.mirror import RATE_TABLES
from salesforce_api.writeback import write_back


def _extract(
    context: dg.AssetExecutionContext, org360: Org360Resource, tables: list[str]
) -> dg.MaterializeResult:
    org = org360.settings().org(context.partition_key)
    if not org.through_api:
        return dg.MaterializeResult(
            metadata={"source": "heroku_connect", "extracted": False, "schema": org.schema}
        )
    connection = connection_for(org)
    usage = connection.check_budget()
    reports: list[ExtractReport] = []
    for table in tables:
        report = extract_table(org360.engine(), connection, table)
        progress.info("salesforce [%s] %s", org.key, report.line())
        reports.append(report)
    rows = sum(r.rows for r in reports)
    deleted = sum(r.deletions.flagged for r in reports if r.deletions)
    return dg.MaterializeResult(
        metadata={
            "source": "salesforce",
            "extracted": True,
            "schema": org.schema,
            "rows_read": rows,
            "changed": sum(r.changed for r in reports),
            "found_deleted": deleted,
            "full_read": any(r.full for r in reports),
            "resumed": any(r.resumed for r in reports),
            "swept": any(r.deletions.swept for r in reports if r.deletions),
            "in_org": all(r.in_org for r in reports),
            "api_requests_left": usage.remaining,
            "api_requests_max": usage.maximum,
            "seconds": round(sum(r.seconds for r in reports), 2),
        }
    )


def _extract_asset(obj: str) -> dg.AssetsDefinition:
    table = CATALOGUE[obj].source_table

    @dg.asset(
        key=["salesforce", obj],
        partitions_def=org_partitions,
        group_name="staging",
        kinds={"salesforce", "postgres"},
        description=(
            f"An org read through the Salesforce API: its {obj} records changed since the "
            "last extract (Bulk API 2.0 queryAll, page by page, resumable), and those "
            "deleted, in the org360-owned schema staging reads. Nothing to do for an org "
            "replicated by Heroku Connect."
        ),
    )
    def _asset(context: dg.AssetExecutionContext, org360: Org360Resource) -> dg.MaterializeResult:
        return _extract(context, org360, [table])

    return _asset


extract_assets = [_extract_asset(obj) for obj in OBJECTS]


@dg.asset(
    key=["salesforce", "currency_rate"],
    partitions_def=org_partitions,
    group_name="staging",
    kinds={"salesforce", "postgres"},
    description=(
        "An org read through the Salesforce API: its currency rates (CurrencyType, "
        "DatedConversionRate), read whole. Nothing to do for a Heroku Connect org."
    ),
)
def salesforce_currency_rate(
    context: dg.AssetExecutionContext, org360: Org360Resource
) -> dg.MaterializeResult:
    return _extract(context, org360, list(RATE_TABLES))


@dg.asset(
    key=["writeback", "golden_id"],
    deps=[dg.AssetKey(["golden", "xref"])],
    group_name="writeback",
    kinds={"salesforce", "postgres"},
    description=(
        "Each source record's golden id written to the field each org names in "
        "`writeback:` (through its Connect table, or Bulk API 2.0 for API orgs): only ids "
        "that changed; refused records are kept with Salesforce's error and retried."
    ),
)
def writeback_golden_id(
    context: dg.AssetExecutionContext, org360: Org360Resource
) -> dg.MaterializeResult:
    settings = org360.settings()
    failures = []
    written = refused = 0
    for org in settings.orgs:
        if org.writeback is None:
            continue
        try:
            connection = connection_for(org) if org.through_api else None
            for report in write_back(org360.engine(), org, connection):
                progress.info("writeback %s", report.line())
                written += report.written
                refused += report.failed
        except SalesforceSourceError as exc:
            # Each org on its own: one unreachable org does not keep the others' ids back.
            failures.append(str(exc))
    if failures:
        raise dg.Failure(
            description="golden ids were not written back to every org:\n" + "\n".join(failures)
        )
    return dg.MaterializeResult(metadata={"written": written, "refused": refused})
