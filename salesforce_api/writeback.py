"""Golden ids back in every org: each source record's `writeback.field` set to the id
of the golden record it belongs to (`golden.xref`).

One rule for both kinds of org: the org's table holds the field's current value (a
Heroku Connect column, or the API extract's copy of it), and only records whose value
differs from their golden id are written, in batches. A Connect org is written through
its Connect table (Connect sends the change to Salesforce when the field is mapped
read-write); an API org through Bulk API 2.0 update jobs, after which the written
values are recorded in its table so the next write-back does not send them again.
Records an org refuses keep Salesforce's error in `org360.writeback_error` and are
written again next time.

Staging compares only the fields it maps, so a record whose only change is its golden
id is not resolved again, although its SystemModstamp moves.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from core.catalogue import CATALOGUE
from core.settings import OrgSettings
from salesforce_api.connection import OrgConnection
from warehouse.sql import ident
from warehouse.staging import source_columns

log = logging.getLogger(__name__)

BATCH_SIZE = 10_000
SAMPLE_SIZE = 5


@dataclass
class WritebackReport:
    org: str
    object: str
    field: str
    changed: int = 0
    written: int = 0
    failed: int = 0
    skipped: str | None = None  # why nothing could be written
    sample: list[tuple[str, str | None, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def line(self, dry_run: bool = False) -> str:
        where = f"{self.org} {self.object}s.{self.field}"
        if self.skipped:
            return f"{where}: skipped: {self.skipped}"
        if dry_run:
            return f"{where}: {self.changed:,} golden ids would be written"
        failed = f", {self.failed:,} refused (kept and retried next time)" if self.failed else ""
        return f"{where}: {self.written:,} of {self.changed:,} changed golden ids written{failed}"


def write_back(
    engine: Engine,
    org: OrgSettings,
    connection: OrgConnection | None = None,
    dry_run: bool = False,
) -> list[WritebackReport]:
    """Write the org's changed golden ids (or, with `dry_run`, say what would change)."""
    if org.writeback is None:
        return []
    reports = []
    for obj, spec in CATALOGUE.items():
        report = WritebackReport(org=org.key, object=obj, field=org.writeback.field)
        reports.append(report)
        with engine.connect() as conn:
            columns = source_columns(conn, org.schema, spec.source_table)
        column = org.writeback.column
        if columns is None:
            report.skipped = f"no table {org.schema}.{spec.source_table}"
            continue
        if column not in columns:
            report.skipped = (
                f"{org.writeback.field} not read from Salesforce yet: the next run reads it "
                f"from {spec.source_table}, where the integration user can see it"
                if org.through_api
                else f"no column {column} in {org.schema}.{spec.source_table}: map "
                f"{org.writeback.field} read-write in Heroku Connect"
            )
            continue
        if not dry_run and not org.through_api:
            # Before writing: what Connect failed to send of the last write-back.
            _record_connect_failures(engine, org, obj, columns, report)
        for batch in _changed_batches(engine, org, obj, "isdeleted" in columns):
            report.changed += len(batch)
            room = SAMPLE_SIZE - len(report.sample)
            if room > 0:
                report.sample.extend(batch[:room])
            if dry_run:
                continue
            if org.through_api:
                assert connection is not None
                _write_through_api(engine, connection, org, obj, batch, report)
            else:
                _write_through_connect(engine, org, obj, batch, report)
    return reports


def _changed_batches(
    engine: Engine, org: OrgSettings, obj: str, has_deleted_flag: bool
) -> Iterator[list[tuple[str, str | None, str]]]:
    """(sfid, value in the org, golden id) of live records whose value differs."""
    spec = CATALOGUE[obj]
    with engine.connect() as conn:
        table = ident(conn, org.schema, spec.source_table)
        column = ident(conn, org.writeback.column)
        live = "t.isdeleted IS NOT TRUE" if has_deleted_flag else "true"
        result = conn.execution_options(stream_results=True, yield_per=BATCH_SIZE).execute(
            text(
                f"SELECT t.sfid, t.{column} AS current, x.golden_id FROM golden.xref x "
                f"JOIN {table} t ON t.sfid = x.sfid WHERE x.object = :obj AND x.org = :org "
                f"AND {live} AND t.{column} IS DISTINCT FROM x.golden_id ORDER BY t.sfid"
            ),
            {"obj": obj, "org": org.key},
        )
        for rows in result.partitions():
            yield [(r.sfid, r.current, r.golden_id) for r in rows]


def _write_through_connect(
    engine: Engine, org: OrgSettings, obj: str, batch: list, report: WritebackReport
) -> None:
    with engine.begin() as conn:
        table = ident(conn, org.schema, CATALOGUE[obj].source_table)
        column = ident(conn, org.writeback.column)
        written = conn.execute(
            text(
                f"UPDATE {table} AS t SET {column} = b.golden_id "
                "FROM unnest(CAST(:ids AS text[]), CAST(:golden AS text[])) AS b(sfid, golden_id) "
                "WHERE t.sfid = b.sfid"
            ),
            {"ids": [r[0] for r in batch], "golden": [r[2] for r in batch]},
        ).rowcount
        _clear_errors(conn, org.key, obj, [r[0] for r in batch])
    report.written += written


def _record_connect_failures(
    engine: Engine, org: OrgSettings, obj: str, columns: dict[str, str], report: WritebackReport
) -> None:
    """Rows Connect could not send to Salesforce (`_hc_lastop` FAILED) that carry their
    golden id: kept as errors and written again (Connect sends a rewritten row anew)."""
    spec = CATALOGUE[obj]
    if "_hc_lastop" not in columns:
        return
    with engine.begin() as conn:
        table = ident(conn, org.schema, spec.source_table)
        column = ident(conn, org.writeback.column)
        error = "t._hc_err" if "_hc_err" in columns else "CAST(NULL AS text)"
        failed = conn.execute(
            text(
                f"SELECT t.sfid, x.golden_id, coalesce({error}, 'Heroku Connect: FAILED') AS "
                f"error FROM {table} t JOIN golden.xref x ON x.object = :obj AND x.org = :org "
                f"AND x.sfid = t.sfid WHERE t._hc_lastop = 'FAILED' AND t.{column} = x.golden_id"
            ),
            {"obj": obj, "org": org.key},
        ).all()
        if not failed:
            return
        _keep_errors(conn, org.key, obj, [(r.sfid, r.golden_id, r.error) for r in failed])
        conn.execute(
            text(f"UPDATE {table} AS t SET {column} = t.{column} WHERE t.sfid = ANY(:ids)"),
            {"ids": [r.sfid for r in failed]},
        )
    report.failed += len(failed)
    report.errors.extend((r.sfid, r.error) for r in failed[:SAMPLE_SIZE])


def _write_through_api(
    engine: Engine,
    connection: OrgConnection,
    org: OrgSettings,
    obj: str,
    batch: list,
    report: WritebackReport,
) -> None:
    """One Bulk API 2.0 update job per batch; the ids Salesforce took are recorded in
    the org's table, the ones it refused kept with its error."""
    spec = CATALOGUE[obj]
    sobject = connection.sobject_name(spec.source_table)
    field_name = org.writeback.field
    records = [{"Id": sfid, field_name: golden} for sfid, _, golden in batch]

    def update(sf):
        bulk = getattr(sf.bulk2, sobject)
        results = bulk.update(records=records, batch_size=len(records) + 1, wait=1)
        failures = []
        for result in results:
            if int(result.get("numberRecordsFailed", 0)):
                failures.extend(_failed_rows(bulk.get_failed_records(result["job_id"])))
        return failures

    failures = connection.call(f"writing golden ids to {sobject}.{field_name}", update)
    refused = {sfid for sfid, _ in failures}
    golden_of = {sfid: golden for sfid, _, golden in batch}
    taken = [(sfid, golden) for sfid, _, golden in batch if sfid not in refused]
    with engine.begin() as conn:
        table = ident(conn, org.schema, spec.source_table)
        column = ident(conn, org.writeback.column)
        if taken:
            conn.execute(
                text(
                    f"UPDATE {table} AS t SET {column} = b.golden_id FROM unnest("
                    "CAST(:ids AS text[]), CAST(:golden AS text[])) AS b(sfid, golden_id) "
                    "WHERE t.sfid = b.sfid"
                ),
                {"ids": [t[0] for t in taken], "golden": [t[1] for t in taken]},
            )
            _clear_errors(conn, org.key, obj, [t[0] for t in taken])
        if failures:
            _keep_errors(conn, org.key, obj, [(s, golden_of.get(s, ""), e) for s, e in failures])
    report.written += len(taken)
    report.failed += len(failures)
    report.errors.extend(failures[: max(0, SAMPLE_SIZE - len(report.errors))])


def _failed_rows(csv_text: str) -> list[tuple[str, str]]:
    """(Id, error) from a job's failedResults CSV (sf__Id may be empty: use Id)."""
    rows = []
    for row in csv.DictReader(io.StringIO(csv_text)):
        sfid = row.get("Id") or row.get("sf__Id") or ""
        rows.append((sfid, row.get("sf__Error") or "refused"))
    return rows


def _keep_errors(conn: Connection, org: str, obj: str, failed: list[tuple[str, str, str]]) -> None:
    conn.execute(
        text(
            "INSERT INTO org360.writeback_error (org, object, sfid, golden_id, error) "
            "VALUES (:org, :obj, :sfid, :golden, :error) ON CONFLICT (org, object, sfid) "
            "DO UPDATE SET golden_id = excluded.golden_id, error = excluded.error, "
            "attempts = org360.writeback_error.attempts + 1, last_failed_at = now()"
        ),
        [
            {"org": org, "obj": obj, "sfid": sfid, "golden": golden, "error": error[:2000]}
            for sfid, golden, error in failed
        ],
    )


def _clear_errors(conn: Connection, org: str, obj: str, sfids: list[str]) -> None:
    conn.execute(
        text(
            "DELETE FROM org360.writeback_error WHERE org = :org AND object = :obj "
            "AND sfid = ANY(:ids)"
        ),
        {"org": org, "obj": obj, "ids": sfids},
    )
