"""How much each org has archived: counts per org and object, for the Dagster asset."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from archive_service.tables import SCHEMA, archived_object, lightweight_table
from core.catalogue import OBJECTS
from core.settings import Settings


@dataclass(frozen=True)
class Volume:
    org: str
    object: str
    archived: int  # in the archive, not restored
    restoring: int  # restored, Heroku Connect has not written the new sfid yet
    restored: int  # restored, new sfid recorded


def archive_volumes(conn: Connection, settings: Settings) -> list[Volume]:
    """Every configured org and object (zeros where nothing was archived yet), plus any
    archive table of an org no longer configured."""
    tables = {
        (row.org, row.object): row.table_name
        for row in conn.execute(
            select(archived_object.c.org, archived_object.c.object, archived_object.c.table_name)
        )
    }
    keys = sorted({*((org, obj) for org in settings.org_keys for obj in OBJECTS), *tables})
    volumes = []
    for org, obj in keys:
        name = tables.get((org, obj))
        if name is None:
            volumes.append(Volume(org, obj, 0, 0, 0))
            continue
        t = lightweight_table(SCHEMA, name, ["restored_at", "restored_sfid"])
        archived, restoring, restored = conn.execute(
            select(
                func.count().filter(t.c.restored_at.is_(None)),
                func.count().filter(t.c.restored_at.is_not(None), t.c.restored_sfid.is_(None)),
                func.count().filter(t.c.restored_sfid.is_not(None)),
            ).select_from(t)
        ).one()
        volumes.append(Volume(org, obj, archived, restoring, restored))
    return volumes
