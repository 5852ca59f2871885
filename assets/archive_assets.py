"""The archive's volume per org and object, as a Dagster asset.

`ArchiveResource` reads the config (its path, else `$ORG360_CONFIG`, else
./org360.yaml) and opens the database only when an op or asset asks.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation.
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    MaterializeResult,
    MetadataValue,
    asset,
)

from archive_service.config import ArchiveOptions, Runtime
from archive_service.volumes import archive_volumes
from core.database import resolve_database_url
from core.settings import config_path_from_env, load_settings


class ArchiveResource(ConfigurableResource):
    config_path: str | None = None
    database_url: str | None = None

    @contextmanager
    def runtime(self) -> Iterator[Runtime]:
        settings = load_settings(self.config_path or config_path_from_env())
        url = resolve_database_url(self.database_url or settings.database_url)
        runtime = Runtime.create(settings, url, ArchiveOptions.from_env())
        try:
            yield runtime
        finally:
            runtime.close()


@asset(
    key=["archive", "volume"],
    group_name="archive",
    description="Records archived per org and object: still archived, being restored, restored.",
)
def volume(context: AssetExecutionContext, archive: ArchiveResource) -> MaterializeResult:
    with archive.runtime() as runtime, runtime.engine.connect() as conn:
        volumes = archive_volumes(conn, runtime.settings)
    metadata: dict[str, object] = {f"{v.org}.{v.object}.archived": v.archived for v in volumes}
    metadata.update({f"{v.org}.{v.object}.restoring": v.restoring for v in volumes if v.restoring})
    metadata["archived"] = sum(v.archived for v in volumes)
    metadata["restored"] = sum(v.restored for v in volumes)
    metadata["per_org_object"] = MetadataValue.md(
        "| org | object | archived | restoring | restored |\n|---|---|---|---|---|\n"
        + "\n".join(
            f"| {v.org} | {v.object} | {v.archived} | {v.restoring} | {v.restored} |"
            for v in volumes
        )
    )
    context.log.info("archived records: %s", metadata["archived"])
    return MaterializeResult(metadata=metadata)
