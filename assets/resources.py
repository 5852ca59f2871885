"""The resource every org360 asset uses: its settings and its database."""

from __future__ import annotations

import logging

import dagster as dg
from sqlalchemy import Engine

from core.database import resolve_database_url
from core.settings import Settings, config_path_from_env, load_settings
from warehouse.engines import engine_for

progress = logging.getLogger("org360.progress")


class Org360Resource(dg.ConfigurableResource):
    """Where the config file is, and optionally the database (else the config's, else
    $DATABASE_URL, else the embedded server)."""

    config_path: str | None = None
    database_url: str | None = None
    # Processes each comparison step forks to score its shard. More than one pays when
    # the steps run one after another (`org360 run`, the in-process executor); the
    # multiprocess, Kubernetes and Celery executors run the steps side by side instead.
    compare_workers: int = 1
    # Comparison steps per object in a full run; 0: the config's `compare_shards`. Shards
    # let executors run comparisons side by side; where steps run one after another
    # (`org360 run`), one step whose forked workers share the pieces does less work.
    compare_shards: int = 0

    def settings(self) -> Settings:
        return load_settings(self.config_path or config_path_from_env())

    def engine(self) -> Engine:
        return engine_for(resolve_database_url(self.database_url or self.settings().database_url))
