"""Staging: copy one org's Heroku Connect table into `staging.<object>`, incrementally.

The copy runs as SQL inside Postgres (source and staging share the database):
rows changed since the watermark are upserted, rows flagged `isdeleted` or gone
from the source become deletions, and rows without an `sfid` (not yet in
Salesforce) are counted and left out. Everything happens in one transaction, so
a failure leaves staging and the watermark as they were.

A live row that cannot be keyed (its sfid is not a Salesforce id, or several rows
share it) is not staged: it is recorded in `staging.rejected` with a reason, and
staged by the first run that finds it fixed, whatever its systemmodstamp.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE, DEFAULT_SOURCE_COLUMNS, FIELDS
from core.errors import ConfigError
from core.settings import OrgSettings
from warehouse.sql import ident

log = logging.getLogger(__name__)

# Rows committed by Connect with a systemmodstamp a little older than the newest one
# we saw would be missed by a strict '>' watermark; re-reading a short window is
# cheap because unchanged rows are not rewritten.
WATERMARK_OVERLAP = "10 minutes"


class SourceError(ConfigError):
    """An org's Heroku Connect schema does not have what the configuration expects."""


# Not 15 or 18 letters and digits (what Salesforce issues, and what staging.sfid
# holds), as two cheap tests rather than one anchored pattern: read for every row of
# every table at every run (a third of the time on a million rows).
INVALID_SFID = (
    "(length(CAST(src.sfid AS text)) NOT IN (15, 18) OR CAST(src.sfid AS text) ~ '[^A-Za-z0-9]')"
)
# An invalid sfid is kept this long in staging.rejected (its key must fit an index).
REJECTED_SFID_LENGTH = 100


@dataclass
class StagingReport:
    org: str
    object: str
    source: str
    table_found: bool = True
    upserted: int = 0
    deleted: int = 0
    without_sfid: int = 0
    flagged_deleted: int = 0
    failed_sync: int = 0
    live_records: int = 0
    full_read: bool = False
    unmapped_fields: list[str] = field(default_factory=list)
    # Live rows set aside, by reason (invalid_sfid, duplicate_sfid); rows released.
    rejected: dict[str, int] = field(default_factory=dict)
    released: int = 0


def _table(obj: str) -> str:
    """The object's Heroku Connect table (`partner__c` for a custom object)."""
    return CATALOGUE[obj].source_table


def source_columns(conn: Connection, schema: str, table: str) -> dict[str, str] | None:
    """Column name -> data type of a source table, or None if the table does not exist."""
    rows = conn.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :table"
        ),
        {"schema": schema, "table": table},
    ).all()
    return {r.column_name: r.data_type for r in rows} or None


def schema_exists(conn: Connection, schema: str) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :schema"),
            {"schema": schema},
        ).scalar()
    )


def column_mapping(org: OrgSettings, obj: str, columns: dict[str, str]) -> dict[str, str]:
    """Unified field -> source column for this org: defaults that exist, plus overrides.

    A default column an org does not have is simply not mapped; a column the user
    mapped explicitly must exist.
    """
    mapping = {f: c for f, c in DEFAULT_SOURCE_COLUMNS[obj].items() if c in columns}
    for unified, column in org.field_overrides(obj).items():
        if column not in columns:
            raise SourceError(
                f"org {org.key!r}: column {column!r} mapped to {obj}.{unified} does not exist "
                f"in table {org.schema}.{_table(obj)} (schema {org.schema!r}); "
                f"fix fields.{obj}.{unified} in the config"
            )
        mapping[unified] = column
    return mapping


def _mapping_hash(mapping: dict[str, str], table_oid: int) -> str:
    """What the watermark is valid for: this column mapping, read from this very table.

    A table dropped and created again (a Heroku Connect mapping deleted and re-added, a
    restored schema) may hold rows whose systemmodstamp predates the watermark; a new
    table identity forces a full read instead of missing them.
    """
    key = repr((sorted(mapping.items()), table_oid))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def validate_source(conn: Connection, org: OrgSettings, obj: str) -> dict[str, str] | None:
    """Check an org's table against the config; return its columns (None: no such table)."""
    if not schema_exists(conn, org.schema):
        raise SourceError(
            f"org {org.key!r}: schema {org.schema!r} does not exist in the database; "
            "check the org's 'schema' in the config (it is the Heroku Connect schema name)"
        )
    columns = source_columns(conn, org.schema, _table(obj))
    if columns is None:
        return None
    if "sfid" not in columns:
        raise SourceError(
            f"org {org.key!r}: table {org.schema}.{_table(obj)} (schema {org.schema!r}) "
            "has no 'sfid' "
            "column; org360 needs Heroku Connect's sfid to identify records"
        )
    column_mapping(org, obj, columns)
    return columns


def stage(engine: Engine, org: OrgSettings, obj: str) -> StagingReport:
    """Bring `staging.<obj>` up to date with one org's source table."""
    report = StagingReport(org=org.key, object=obj, source=f"{org.schema}.{_table(obj)}")
    with engine.begin() as conn:
        columns = validate_source(conn, org, obj)
        if columns is None:
            log.warning("org %r: table %s not found; treating it as empty", org.key, report.source)
            report.table_found = False
            report.deleted = _delete_all(conn, org.key, obj)
            return report
        mapping = column_mapping(org, obj, columns)
        report.unmapped_fields = [f for f in FIELDS[obj] if f not in mapping]
        has_deleted_flag = "isdeleted" in columns
        has_modstamp = "systemmodstamp" in columns
        has_lastop = "_hc_lastop" in columns
        watermark = _read_watermark(conn, org.key, obj)
        src = ident(conn, org.schema, _table(obj))
        table_oid = conn.execute(text("SELECT CAST(:t AS regclass)::oid"), {"t": src}).scalar_one()
        digest = _mapping_hash(mapping, table_oid)
        since = None
        if watermark is not None and watermark.mapping_hash == digest and has_modstamp:
            since = watermark.systemmodstamp
        report.full_read = since is None

        live = "src.sfid IS NOT NULL" + (
            " AND src.isdeleted IS NOT TRUE" if has_deleted_flag else ""
        )
        duplicates = [] if _sfid_is_unique(conn, table_oid) else _duplicates(conn, src, live)
        released = _duplicates_released(conn, org.key, obj, duplicates)
        report.upserted = _upsert(
            conn,
            org.key,
            obj,
            src,
            mapping,
            live,
            since,
            has_modstamp,
            has_lastop,
            [r.sfid for r in duplicates],
            released,
        )
        counts = _source_counts(conn, src, live, has_deleted_flag, has_modstamp, has_lastop)
        # Found by the scan that counts (no scan of its own): a run with none is the rule.
        rejected = duplicates + (_invalid_sfids(conn, src, live) if counts.invalid else [])
        report.deleted = _delete_gone(
            conn, org.key, obj, src, has_deleted_flag, [r.sfid for r in rejected]
        )
        _record_rejected(conn, org, obj, rejected)
        report.rejected = dict(Counter(r.reason for r in rejected))
        report.released = len(released)
        report.without_sfid = counts.without_sfid
        report.flagged_deleted = counts.flagged
        report.failed_sync = counts.failed
        report.live_records = counts.live
        _write_watermark(conn, org, obj, counts.newest, digest)
        if report.full_read:
            conn.exec_driver_sql(f"ANALYZE {ident(conn, 'staging', obj)}")
    return report


@dataclass(frozen=True)
class Rejected:
    sfid: str
    reason: str
    detail: str


def _invalid_sfids(conn: Connection, src: str, live: str) -> list[Rejected]:
    """Live rows whose sfid is not a Salesforce id: they cannot be staged."""
    found = [
        Rejected(r.sfid[:REJECTED_SFID_LENGTH], "invalid_sfid", r.detail)
        for r in conn.execute(
            text(
                "SELECT src.sfid, 'sfid ' || quote_literal(left(src.sfid, 40)) || ' ('"
                " || length(src.sfid) || ' characters) is not a Salesforce id' AS detail "
                f"FROM {src} AS src WHERE {live} AND {INVALID_SFID}"
            )
        )
    ]
    # Two invalid sfids that differ only past the kept length are one rejection.
    return list({r.sfid: r for r in found}.values())


def _duplicates(conn: Connection, src: str, live: str) -> list[Rejected]:
    """Sfids that several live rows share: none of those rows can be staged."""
    return [
        Rejected(r.sfid, "duplicate_sfid", f"{r.rows} live rows share this sfid")
        for r in conn.execute(
            text(
                f"SELECT src.sfid, count(*) AS rows FROM {src} AS src "
                f"WHERE {live} AND NOT {INVALID_SFID} GROUP BY src.sfid HAVING count(*) > 1"
            )
        )
    ]


def _duplicates_released(
    conn: Connection, org_key: str, obj: str, duplicates: list[Rejected]
) -> list[str]:
    """Sfids quarantined as duplicates before and no longer: read again whatever their
    systemmodstamp (the row left may be older than the watermark)."""
    before = conn.execute(
        text(
            "SELECT sfid FROM staging.rejected WHERE object = :obj AND org = :org "
            "AND reason = 'duplicate_sfid'"
        ),
        {"obj": obj, "org": org_key},
    ).scalars()
    now = {r.sfid for r in duplicates}
    return [sfid for sfid in before if sfid not in now]


def _sfid_is_unique(conn: Connection, table_oid: int) -> bool:
    """Whether a unique index on sfid alone guarantees one row per sfid (Connect
    creates one)."""
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "WHERE i.indrelid = :oid AND i.indisunique AND i.indnatts = 1 "
                "AND i.indpred IS NULL AND a.attname = 'sfid')"
            ),
            {"oid": table_oid},
        ).scalar()
    )


def _record_rejected(
    conn: Connection, org: OrgSettings, obj: str, rejected: list[Rejected]
) -> None:
    """Make staging.rejected hold exactly `rejected` for this org and object (first
    seen kept for those still there)."""
    conn.execute(
        text(
            "DELETE FROM staging.rejected WHERE object = :obj AND org = :org "
            "AND NOT (sfid = ANY(:kept))"
        ),
        {"obj": obj, "org": org.key, "kept": [r.sfid for r in rejected]},
    )
    if rejected:
        conn.execute(
            text(
                "INSERT INTO staging.rejected (object, org, sfid, reason, detail) "
                "VALUES (:obj, :org, :sfid, :reason, :detail) "
                "ON CONFLICT (object, org, sfid) DO UPDATE SET reason = excluded.reason, "
                "detail = excluded.detail, last_seen = now()"
            ),
            [
                {
                    "obj": obj,
                    "org": org.key,
                    "sfid": r.sfid,
                    "reason": r.reason,
                    "detail": f"{r.detail} in {org.schema}.{_table(obj)}",
                }
                for r in rejected
            ],
        )


def _source_counts(
    conn: Connection,
    src: str,
    live: str,
    has_deleted_flag: bool,
    has_modstamp: bool,
    has_lastop: bool,
):
    flagged = "src.isdeleted IS TRUE" if has_deleted_flag else "false"
    failed = f"{live} AND src._hc_lastop = 'FAILED'" if has_lastop else "false"
    newest = "max(src.systemmodstamp)" if has_modstamp else "NULL"
    return conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE src.sfid IS NULL) AS without_sfid, "
            f"count(*) FILTER (WHERE {flagged}) AS flagged, "
            f"count(*) FILTER (WHERE {failed}) AS failed, "
            f"count(*) FILTER (WHERE {live}) AS live, "
            f"count(*) FILTER (WHERE {live} AND {INVALID_SFID}) AS invalid, "
            f"{newest} AS newest FROM {src} AS src"
        )
    ).one()


def _upsert(
    conn: Connection,
    org_key: str,
    obj: str,
    src: str,
    mapping: dict[str, str],
    live: str,
    since,
    has_modstamp: bool,
    has_lastop: bool,
    unkeyable: list[str],
    released: list[str],
) -> int:
    fields = FIELDS[obj]
    select_fields = [
        f"CAST(src.{ident(conn, mapping[f])} AS text)" if f in mapping else "CAST(NULL AS text)"
        for f in fields
    ]
    target = ident(conn, "staging", obj)
    field_list = ", ".join(ident(conn, f) for f in fields)
    modstamp = "src.systemmodstamp" if has_modstamp else "NULL"
    lastop = "src._hc_lastop" if has_lastop else "NULL"
    where = f"{live} AND NOT {INVALID_SFID}"
    params: dict[str, object] = {"org": org_key}
    if unkeyable:
        where += " AND NOT (src.sfid = ANY(:unkeyable))"
        params["unkeyable"] = unkeyable
    if since is not None:
        # Rows released from quarantine are read whatever their age.
        where += (
            " AND (src.systemmodstamp >= "
            f"CAST(:since AS timestamp) - interval '{WATERMARK_OVERLAP}'"
            " OR src.systemmodstamp IS NULL OR src.sfid = ANY(:released))"
        )
        params["since"] = since
        params["released"] = released
    compared = ", ".join(f"{target}.{ident(conn, f)}" for f in (*fields, "hc_lastop"))
    incoming = ", ".join(f"excluded.{ident(conn, f)}" for f in (*fields, "hc_lastop"))
    updates = ", ".join(
        f"{ident(conn, f)} = excluded.{ident(conn, f)}"
        for f in (*fields, "systemmodstamp", "hc_lastop")
    )
    sql = (
        f"INSERT INTO {target} (org, sfid, {field_list}, systemmodstamp, hc_lastop) "
        f"SELECT :org, src.sfid, {', '.join(select_fields)}, {modstamp}, {lastop} "
        f"FROM {src} AS src WHERE {where} "
        f"ON CONFLICT (org, sfid) DO UPDATE SET {updates}, "
        f"change_seq = nextval('org360.change_seq') "
        f"WHERE ({compared}) IS DISTINCT FROM ({incoming})"
    )
    result = conn.execute(text(sql), params)
    # A re-appearing record is live again: it is no longer a pending deletion.
    conn.execute(
        text(
            "DELETE FROM staging.deletion d USING " + target + " s "
            "WHERE d.object = :obj AND d.org = :org AND s.org = d.org AND s.sfid = d.sfid"
        ),
        {"obj": obj, "org": org_key},
    )
    return result.rowcount


def _delete_gone(
    conn: Connection,
    org_key: str,
    obj: str,
    src: str,
    has_deleted_flag: bool,
    unkeyable: list[str],
) -> int:
    """Staged rows whose record is gone from the source, or can no longer be keyed
    (quarantined), become deletions."""
    target = ident(conn, "staging", obj)
    alive = "a.sfid = s.sfid" + (" AND a.isdeleted IS NOT TRUE" if has_deleted_flag else "")
    result = conn.execute(
        text(
            f"WITH gone AS (DELETE FROM {target} s WHERE s.org = :org AND (NOT EXISTS "
            f"(SELECT 1 FROM {src} a WHERE {alive}) OR s.sfid = ANY(:unkeyable)) "
            "RETURNING s.sfid) "
            "INSERT INTO staging.deletion (object, org, sfid) SELECT :obj, :org, sfid FROM gone "
            "ON CONFLICT (object, org, sfid) DO UPDATE "
            "SET change_seq = nextval('org360.change_seq')"
        ),
        {"org": org_key, "obj": obj, "unkeyable": unkeyable},
    )
    return result.rowcount


def _delete_all(conn: Connection, org_key: str, obj: str) -> int:
    target = ident(conn, "staging", obj)
    result = conn.execute(
        text(
            f"WITH gone AS (DELETE FROM {target} s WHERE s.org = :org RETURNING s.sfid) "
            "INSERT INTO staging.deletion (object, org, sfid) SELECT :obj, :org, sfid FROM gone "
            "ON CONFLICT (object, org, sfid) DO UPDATE "
            "SET change_seq = nextval('org360.change_seq')"
        ),
        {"org": org_key, "obj": obj},
    )
    for table in ("org360.watermark", "staging.rejected"):
        conn.execute(
            text(f"DELETE FROM {table} WHERE org = :org AND object = :obj"),
            {"org": org_key, "obj": obj},
        )
    return result.rowcount


def _read_watermark(conn: Connection, org_key: str, obj: str):
    return conn.execute(
        text(
            "SELECT systemmodstamp, mapping_hash FROM org360.watermark "
            "WHERE org = :org AND object = :obj"
        ),
        {"org": org_key, "obj": obj},
    ).one_or_none()


def _write_watermark(conn: Connection, org: OrgSettings, obj: str, newest, digest: str) -> None:
    conn.execute(
        text(
            "INSERT INTO org360.watermark "
            "(org, object, source_schema, systemmodstamp, mapping_hash) "
            "VALUES (:org, :obj, :schema, :newest, :digest) "
            "ON CONFLICT (org, object) DO UPDATE SET source_schema = excluded.source_schema, "
            "systemmodstamp = excluded.systemmodstamp, mapping_hash = excluded.mapping_hash, "
            "updated_at = now()"
        ),
        {"org": org.key, "obj": obj, "schema": org.schema, "newest": newest, "digest": digest},
    )
