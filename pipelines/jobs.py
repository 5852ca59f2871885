"""Jobs: per-org staging (partitioned) and the consolidation that follows it."""

import dagster as dg

from assets.partitions import org_partitions

CONSOLIDATION_GROUPS = ("unified", "resolve", "golden_next", "golden", "writeback")

staging_job = dg.define_asset_job(
    "staging_job",
    selection=dg.AssetSelection.groups("staging"),
    partitions_def=org_partitions,
    description=(
        "Read one org's Heroku Connect tables (or extract it through the Salesforce API) "
        "into staging (one run per org)."
    ),
    # A few SQL statements per object: one process does them in seconds, where a
    # process per step would spend longer starting than working.
    executor_def=dg.in_process_executor,
)

consolidation_job = dg.define_asset_job(
    "consolidation_job",
    selection=dg.AssetSelection.groups(*CONSOLIDATION_GROUPS, "archive"),
    description="Normalise, resolve, build and publish golden records from staging.",
)
