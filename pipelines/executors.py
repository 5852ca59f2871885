"""Which Dagster executor runs the steps: chosen by `$ORG360_EXECUTOR` when the code
location loads, so the same definitions run on a laptop or on a cluster.

- `in_process` (the default, and what `org360 run` uses): every step in the run's
  process, one after another; one comparison step per object, which forks a worker
  per CPU. A step process costs seconds to start and a few hundred MB, so on one
  machine this is both the fastest and the smallest.
- `multiprocess`: one process per step, up to `$ORG360_MAX_CONCURRENT` (default: CPUs).
- `k8s`: one Kubernetes Job per step (needs `pip install org360[k8s]` and a
  `K8sRunLauncher` in the instance's dagster.yaml); image, namespace and resources
  come from the run launcher and the `dagster-k8s/config` tags.
- `celery`: steps as Celery tasks (needs `pip install org360[celery]` and a broker,
  `$ORG360_CELERY_BROKER`).
"""

from __future__ import annotations

import os

import dagster as dg

from core.errors import ConfigError
from warehouse.parallel import default_workers

EXECUTORS = ("in_process", "multiprocess", "k8s", "celery")


def executor_name() -> str:
    return os.environ.get("ORG360_EXECUTOR", "in_process").strip().lower()


def compare_workers_for(name: str) -> int:
    """Processes a comparison step forks: the CPUs when the executor runs the steps one
    after another in one process, else one (the executor runs the shards side by side)."""
    return default_workers() if name == "in_process" else 1


def compare_shards_for(name: str) -> int:
    """Comparison steps per object: one when the executor runs steps one after another
    in one process (its workers share the pieces), else the config's (0)."""
    return 1 if name == "in_process" else 0


def executor_from_env() -> dg.ExecutorDefinition:
    name = executor_name()
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        limit = int(os.environ.get("ORG360_MAX_CONCURRENT", os.cpu_count() or 2))
        return dg.multiprocess_executor.configured({"max_concurrent": limit})
    if name == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError:
            raise ConfigError(
                "ORG360_EXECUTOR=k8s needs dagster-k8s: pip install 'org360[k8s]'"
            ) from None
        return k8s_job_executor
    if name == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError:
            raise ConfigError(
                "ORG360_EXECUTOR=celery needs dagster-celery: pip install 'org360[celery]'"
            ) from None
        broker = os.environ.get("ORG360_CELERY_BROKER")
        return celery_executor.configured({"broker": broker}) if broker else celery_executor
    raise ConfigError(f"ORG360_EXECUTOR={name!r}: expected one of {', '.join(EXECUTORS)}")
