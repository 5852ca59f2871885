"""Orgs are partitions: one per configured org, kept in step with the config by a sensor."""

import dagster as dg

org_partitions = dg.DynamicPartitionsDefinition(name="org")
