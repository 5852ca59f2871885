"""Sensors: keep org partitions in step with the config; run automation conditions."""

import dagster as dg

from assets.partitions import org_partitions
from assets.resources import Org360Resource
from core.errors import ConfigError


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
