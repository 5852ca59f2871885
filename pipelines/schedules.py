"""The consolidation schedule: stage every org; automation then carries the rest."""

import dagster as dg

from assets.partitions import org_partitions
from pipelines.jobs import staging_job


def consolidation_schedule(cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="consolidation_schedule",
        cron_schedule=cron,
        job=staging_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Stage every org on a cadence (config 'schedule', default hourly); "
        "unified, resolve and publish follow automatically once staging is done.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        orgs = context.instance.get_dynamic_partitions(org_partitions.name)
        if not orgs:
            return dg.SkipReason("no orgs registered yet (the org_config_sensor adds them)")
        return [
            dg.RunRequest(
                run_key=f"{context.scheduled_execution_time:%Y%m%dT%H%M}-{org}", partition_key=org
            )
            for org in orgs
        ]

    return _schedule
