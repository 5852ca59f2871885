"""org360's one code location. Loaded lazily: importing this module opens no connection
and reads no file; Dagster calls `defs()` when it loads the location."""

from __future__ import annotations

import dagster as dg

from assets import archive_assets, golden, golden_next, resolve, salesforce, staging, unified
from assets.archive_assets import ArchiveResource
from assets.resources import Org360Resource
from core.errors import ConfigError
from core.settings import DEFAULT_SCHEDULE, config_path_from_env, load_settings
from pipelines.archive_schedule import retention_job, retention_schedule
from pipelines.executors import (
    compare_shards_for,
    compare_workers_for,
    executor_from_env,
    executor_name,
)
from pipelines.jobs import consolidation_job, staging_job
from pipelines.schedules import consolidation_schedule
from pipelines.sensors import (
    consolidation_automation_sensor,
    org_config_sensor,
    steward_decision_sensor,
)


def _schedule_cron() -> str:
    try:
        return load_settings(config_path_from_env()).schedule
    except ConfigError:
        # The UI must load even before a config exists; runs report the config error.
        return DEFAULT_SCHEDULE


def build_definitions(
    org360: Org360Resource | None = None,
    cron: str | None = None,
    executor: dg.ExecutorDefinition | None = None,
) -> dg.Definitions:
    return dg.Definitions(
        executor=executor,
        assets=dg.load_assets_from_modules(
            [salesforce, staging, unified, resolve, golden_next, golden, archive_assets]
        ),
        asset_checks=golden_next.CHECKS,
        jobs=[staging_job, consolidation_job, retention_job],
        schedules=[consolidation_schedule(cron or DEFAULT_SCHEDULE), retention_schedule],
        sensors=[org_config_sensor, consolidation_automation_sensor, steward_decision_sensor],
        resources={
            "org360": org360 or Org360Resource(),
            "archive": ArchiveResource(
                config_path=org360.config_path if org360 else None,
                database_url=org360.database_url if org360 else None,
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    executor = executor_name()
    return build_definitions(
        Org360Resource(
            compare_workers=compare_workers_for(executor),
            compare_shards=compare_shards_for(executor),
        ),
        cron=_schedule_cron(),
        executor=executor_from_env(),
    )
