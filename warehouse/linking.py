"""Resolution of an object whose duplicates are not looked for (an opportunity): each
record is an entity of its own, its cluster named after itself. Only the records that
changed since the last run are touched, and they are marked for the next publication
like a resolved object's changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from warehouse import resolution_state
from warehouse.sql import newest_change, read_query

# What `resolve.state` holds as the model's fingerprint: there is no model.
FINGERPRINT = "linked"


@dataclass
class LinkReport:
    object: str
    records: int = 0
    incremental: bool = False
    changed: int = 0
    deleted: int = 0


def link_records(engine: Engine, obj: str) -> LinkReport:
    report = LinkReport(object=obj)
    cluster = f"resolve.{obj}_cluster"
    with engine.begin() as conn:
        last = resolution_state.load_state(conn, obj)
        newest = newest_change(conn)
        gone = resolution_state.consume_deletions(conn, obj, newest)
        if last is None or last.fingerprint != FINGERPRINT:
            conn.exec_driver_sql(f"TRUNCATE {cluster}")
            report.changed = conn.execute(
                text(
                    f"INSERT INTO {cluster} (record_id, cluster_id, match_weight) "
                    f"SELECT record_id, record_id, 'NaN' FROM unified.{obj}"
                )
            ).rowcount
            resolution_state.mark_rebuild(conn, obj)
        else:
            report.incremental = True
            conn.execute(
                text(f"DELETE FROM {cluster} WHERE record_id = ANY(:ids)"),
                {"ids": [int(i) for i in gone["record_id"]]},
            )
            changed = read_query(
                conn,
                f"SELECT record_id, org, sfid FROM unified.{obj} "
                "WHERE change_seq > %(since)s AND change_seq <= %(newest)s",
                {"since": last.change_seq, "newest": newest},
                text=("org", "sfid"),
            )
            conn.execute(
                text(
                    f"INSERT INTO {cluster} (record_id, cluster_id, match_weight) "
                    "SELECT id, id, 'NaN' FROM unnest(CAST(:ids AS bigint[])) AS id "
                    "ON CONFLICT (record_id) DO NOTHING"
                ),
                {"ids": [int(i) for i in changed["record_id"]]},
            )
            resolution_state.mark_changed(conn, obj, gone[["org", "sfid"]])
            resolution_state.mark_changed(conn, obj, changed[["org", "sfid"]])
            report.changed = len(changed)
        report.deleted = len(gone)
        resolution_state.save_state(conn, obj, resolution_state.ResolveState(newest, FINGERPRINT))
        report.records = conn.execute(text(f"SELECT count(*) FROM {cluster}")).scalar_one()
    return report
