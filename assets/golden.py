"""The publication readers use: `golden.*`, swapped in from `golden_next` atomically."""

from datetime import UTC, datetime

import dagster as dg

from assets.resources import Org360Resource, progress
from core.catalogue import CATALOGUE, OBJECTS
from warehouse.publish import publish

_TABLES = (
    *OBJECTS,
    "xref",
    "duplicate_review",
    "rejected_record",
    "account_summary",
    "pipeline_by_month",
)
_DESCRIPTIONS = {
    **{obj: spec.description for obj, spec in CATALOGUE.items()},
    "xref": "Cross-reference: exactly one row per live source record -> its golden id.",
    "duplicate_review": (
        "Review queue: likely duplicates for data stewards, with per-field weights."
    ),
    "account_summary": (
        "Each golden account's open, weighted, won and lost pipeline across orgs, in the "
        "reporting currency."
    ),
    "pipeline_by_month": "Pipeline by golden account, org, funnel stage and close month.",
    "rejected_record": (
        "Quarantine: live source records that could not be resolved, with a reason; "
        "every live record is here or in the xref."
    ),
}


@dg.multi_asset(
    name="publish_golden",
    specs=[
        dg.AssetSpec(
            ["golden", table],
            deps=[dg.AssetKey(["golden_next", t]) for t in _TABLES],
            group_name="golden",
            kinds={"postgres"},
            automation_condition=dg.AutomationCondition.eager(),
            description=_DESCRIPTIONS[table],
        )
        for table in _TABLES
    ],
)
def publish_golden(context: dg.AssetExecutionContext, org360: Org360Resource):
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record is not None else None
    report = publish(
        org360.engine(),
        datetime.fromtimestamp(started, tz=UTC) if started is not None else None,
    )
    for table in _TABLES:
        rows = report.rows.get(table)  # counted when the whole table was compared
        progress.info(
            "golden.%s: %s(%d new, %d changed, %d removed)",
            table,
            "" if rows is None else f"{rows} rows ",
            report.inserted[table],
            report.updated[table],
            report.deleted[table],
        )
        metadata: dict[str, object] = {
            "incremental": report.incremental,
            "inserted": report.inserted[table],
            "updated": report.updated[table],
            "deleted": report.deleted[table],
        }
        if rows is not None:
            metadata["dagster/row_count"] = rows
        yield dg.MaterializeResult(asset_key=["golden", table], metadata=metadata)
