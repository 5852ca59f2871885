"""Sensors: keep org partitions in step with the config; run automation conditions;
apply steward decisions without waiting for the schedule."""

import dagster as dg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from assets.partitions import org_partitions
from assets.resources import Org360Resource
from core.errors import ConfigError
from pipelines.jobs import consolidation_job


@dg.sensor(
    name="org_config_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a partition for each org in the config (and removes dropped orgs).",
)
def org_config_sensor(context: dg.SensorEvaluationContext, org360: Org360Resource):
    try:
        wanted = set(org360.settings().org_keys)
    except ConfigError as exc:
        return dg.SkipReason(f"config not usable: {exc}")
    known = set(context.instance.get_dynamic_partitions(org_partitions.name))
    requests = []
    if wanted - known:
        requests.append(org_partitions.build_add_request(sorted(wanted - known)))
    if known - wanted:
        requests.append(org_partitions.build_delete_request(sorted(known - wanted)))
    if not requests:
        return dg.SkipReason("org partitions match the config")
    return dg.SensorResult(dynamic_partitions_requests=requests)


consolidation_automation_sensor = dg.AutomationConditionSensorDefinition(
    "consolidation_automation_sensor",
    target=dg.AssetSelection.groups("unified", "resolve", "golden_next", "golden"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)


@dg.sensor(
    name="steward_decision_sensor",
    job=consolidation_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a consolidation when stewards have decided pairs since the last "
    "one it started, so a decision is published without waiting for the schedule.",
)
def steward_decision_sensor(context: dg.SensorEvaluationContext, org360: Org360Resource):
    try:
        with org360.engine().connect() as conn:
            newest = conn.execute(
                text(
                    "SELECT max(id) FROM steward.decision_log "
                    "WHERE action IN ('match', 'no_match', 'undo')"
                )
            ).scalar()
    except (ConfigError, SQLAlchemyError) as error:
        return dg.SkipReason(f"decisions not readable: {str(error).splitlines()[0]}")
    if newest is None or str(newest) == context.cursor:
        return dg.SkipReason("no decision since the last run this sensor started")
    context.update_cursor(str(newest))
    return dg.RunRequest(run_key=f"decisions-{newest}")
