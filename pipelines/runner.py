"""Run every org360 asset in this process: stage each org, then consolidate and publish.

This is what `org360 run` and `org360 demo` do. Runs go to the same Dagster
instance the UI reads (see `pipelines.instance`), so their history, metadata and
check results show up there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.partitions import org_partitions
from assets.resources import Org360Resource
from core.catalogue import CATALOGUE, OBJECTS
from core.database import resolve_database_url
from core.settings import Settings, load_settings
from pipelines.definitions import build_definitions
from pipelines.executors import compare_shards_for, compare_workers_for
from pipelines.instance import open_instance
from warehouse.engines import engine_for
from warehouse.quarantine import published_counts
from warehouse.resolution_state import request_full_resolution
from warehouse.staging import validate_source

log = logging.getLogger("org360.progress")

# Progress is printed by org360's own logger; failures are summarised by `_failure`.
_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class RunFailed(RuntimeError):
    """A step or a blocking check failed; the message says which and why."""


@dataclass
class RunSummary:
    database_url: str
    settings: Settings
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    # What the publication quarantined, by (object, org, reason).
    quarantined: dict[tuple[str, str, str], int] = field(default_factory=dict)


def preflight(settings: Settings, database_url: str) -> None:
    """Check every org's schema, tables and mapped columns before any work starts."""
    engine = engine_for(database_url)
    with engine.connect() as conn:
        for org in settings.orgs:
            if org.through_api:
                continue  # its schema is org360's, made by the extract
            for obj in OBJECTS:
                if validate_source(conn, org, obj) is None:
                    log.warning(
                        "org %r: table %s.%s not found; it counts as empty",
                        org.key,
                        org.schema,
                        CATALOGUE[obj].source_table,
                    )


def _failure(result: dg.ExecuteInProcessResult, what: str) -> str:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            # Dagster wraps the asset's exception; the innermost cause says what went wrong.
            while error is not None and error.cause is not None:
                error = error.cause
            messages.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            messages.append(
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                f"failed: {evaluation.description or ''} "
                "(publishing blocked; golden.* left as it was)"
            )
    return f"{what} failed:\n  " + "\n  ".join(messages or ["see the Dagster UI for details"])


def run_all(
    config_path: str | Path, database_url: str | None = None, full: bool = False
) -> RunSummary:
    """Stage every org, then consolidate. Resolution is incremental when little
    changed; `full` rescores every pair and rebuilds every golden record."""
    started = time.perf_counter()
    config_path = Path(config_path).resolve()
    settings = load_settings(config_path)
    url = resolve_database_url(database_url or settings.database_url)
    preflight(settings, url)
    if full:
        request_full_resolution(engine_for(url))
    summary = RunSummary(database_url=url, settings=settings)

    instance = open_instance(url)
    known = set(instance.get_dynamic_partitions(org_partitions.name))
    missing = [k for k in settings.org_keys if k not in known]
    if missing:
        instance.add_dynamic_partitions(org_partitions.name, missing)

    # Every step runs in this process, one after another: one comparison step per
    # object, whose forked workers score its pieces.
    org360 = Org360Resource(
        config_path=str(config_path),
        database_url=url,
        compare_workers=compare_workers_for("in_process"),
        compare_shards=compare_shards_for("in_process"),
    )
    defs = build_definitions(org360, cron=settings.schedule)
    for org in settings.org_keys:
        step = time.perf_counter()
        result = defs.resolve_job_def("staging_job").execute_in_process(
            partition_key=org, instance=instance, raise_on_error=False, run_config=_QUIET
        )
        summary.step_seconds[f"staging[{org}]"] = time.perf_counter() - step
        summary.run_ids.append(result.run_id)
        if not result.success:
            raise RunFailed(_failure(result, f"staging of org {org!r}"))
    step = time.perf_counter()
    result = defs.resolve_job_def("consolidation_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=_QUIET
    )
    summary.step_seconds["consolidation"] = time.perf_counter() - step
    summary.run_ids.append(result.run_id)
    if not result.success:
        raise RunFailed(_failure(result, "consolidation"))
    summary.quarantined = published_counts(engine_for(url))
    summary.seconds = time.perf_counter() - started
    return summary
