"""Unified: normalise staged records that changed since the last run, batch by batch.

Reads `staging.<object>` rows whose change sequence is past this stage's progress
(streamed through a server-side cursor), normalises each batch with
`dedupe.prepare`, and upserts it into `unified.<object>` through COPY. Records
deleted in staging are deleted here. One transaction: all or nothing.

Records that cannot be resolved as they stand (`dedupe.prepare` says why) go to
`unified.rejected` instead, beside the rejections staging found, and leave
`unified.<object>` if they were there: resolution then drops them as deletions. A
rejected record that changes is prepared again, and released when it passes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import pandas as pd
from sqlalchemy import Connection, Engine, text
from sqlalchemy.pool import NullPool

from core.catalogue import CATALOGUE, FIELDS
from core.database import make_engine
from dedupe.prepare import REJECTED_COLUMNS, Prepared
from warehouse.matchers import matcher_for
from warehouse.sql import (
    bulk_loaded,
    copy_csv,
    frame_csv,
    newest_change,
    read_int64_column,
)
from warehouse_sql import query

BATCH_SIZE = 50_000
# Fresh planner statistics when more than this share of the records changed.
ANALYZE_SHARE = 0.05
MAX_WORKERS = 4
# Below this many changed rows, normalising in-process beats starting a pool.
PARALLEL_MIN_ROWS = 200_000


@cache
def unified_columns(obj: str) -> tuple[str, ...]:
    """A unified record's columns: its key, the catalogue's fields, the matcher's keys,
    bookkeeping."""
    return (
        "org",
        "sfid",
        *CATALOGUE[obj].unified_fields,
        *matcher_for(obj).match_keys,
        "completeness",
        "systemmodstamp",
        "hc_failed",
    )


@dataclass
class UnifiedReport:
    object: str
    normalised: int = 0
    deleted: int = 0
    records: int = 0
    batches: int = 0
    # Values cut or nulled in this run's records, as `<field> nulled|truncated`.
    cleaned: Counter = field(default_factory=Counter)
    # Records set aside now, by reason (all of them, staging's too), and released.
    rejected: dict[str, int] = field(default_factory=dict)
    released: int = 0


def _progress(conn: Connection, stage: str) -> int:
    value = conn.execute(
        text("SELECT change_seq FROM org360.progress WHERE stage = :stage"), {"stage": stage}
    ).scalar()
    return int(value or 0)


def _set_progress(conn: Connection, stage: str, seq: int) -> None:
    conn.execute(
        text(
            "INSERT INTO org360.progress (stage, change_seq) VALUES (:stage, :seq) "
            "ON CONFLICT (stage) DO UPDATE SET change_seq = excluded.change_seq, updated_at = now()"
        ),
        {"stage": stage, "seq": seq},
    )


def unify(engine: Engine, obj: str, batch_size: int = BATCH_SIZE) -> UnifiedReport:
    report = UnifiedReport(object=obj)
    stage = f"unified.{obj}"
    staged = ident_static("staging", obj)
    target = ident_static("unified", obj)
    columns = unified_columns(obj)
    with engine.begin() as conn:
        # SHARE mode waits for staging writers in flight and holds off new ones, so no
        # change sequence below the one we record can appear after we read.
        conn.exec_driver_sql(f"LOCK TABLE {staged}, staging.deletion IN SHARE MODE")
        since = _progress(conn, stage)
        newest = newest_change(conn)

        # Resolution drops a deleted record's pairs and cluster by its record id.
        deleted = conn.execute(
            text(
                f"WITH gone AS (DELETE FROM {target} u USING staging.deletion d "
                "WHERE d.object = :obj AND d.change_seq > :since "
                "AND u.org = d.org AND u.sfid = d.sfid RETURNING u.record_id, u.org, u.sfid) "
                "INSERT INTO unified.deletion (object, record_id, org, sfid) "
                "SELECT :obj, record_id, org, sfid FROM gone"
            ),
            {"obj": obj, "since": since},
        )
        report.deleted = deleted.rowcount

        first_load = not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {target})")).scalar()
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE incoming ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)} FROM {target} WITH NO DATA"
        )
        # The changed rows' sequence numbers: how many, and where each batch ends.
        seqs = read_int64_column(
            conn,
            f"SELECT change_seq FROM {staged} WHERE change_seq > %(since)s ORDER BY change_seq",
            {"since": since},
        )
        conn.exec_driver_sql(
            "CREATE TEMP TABLE incoming_rejected ON COMMIT DROP AS "
            f"SELECT {', '.join(REJECTED_COLUMNS)} FROM unified.rejected WITH NO DATA"
        )
        if len(seqs) >= PARALLEL_MIN_ROWS:
            # Each batch: the change sequences after the last one's end, up to its own.
            ends = seqs[batch_size - 1 :: batch_size].tolist()
            if len(seqs) % batch_size:
                ends.append(int(seqs[-1]))
            ranges = list(zip([since, *ends[:-1]], ends, strict=True))
            url = engine.url.render_as_string(hide_password=False)
            prepared_batches = _prepare_in_workers(obj, url, ranges)
        else:
            prepared_batches = (
                prepare_batch(obj, batch) for batch in _read_batches(conn, obj, since, batch_size)
            )
        for prepared in prepared_batches:
            copy_csv(conn, "incoming", columns, prepared.records)
            copy_csv(conn, "incoming_rejected", REJECTED_COLUMNS, prepared.rejected)
            report.normalised += prepared.count
            report.cleaned.update(prepared.cleaned)
            report.batches += 1
        report.deleted += _quarantine(conn, obj, target, since, report)

        insert = (
            f"INSERT INTO {target} ({', '.join(columns)}, change_seq) "
            f"SELECT {', '.join(columns)}, nextval('org360.change_seq') FROM incoming"
        )
        if first_load:
            # An empty table (a first run) is filled without its indexes, then indexed:
            # one sorted build each, where a million upserts update them row by row.
            with bulk_loaded(conn, "unified", obj):
                conn.exec_driver_sql(insert)
        else:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("org", "sfid"))
            conn.exec_driver_sql(
                f"{insert} ON CONFLICT (org, sfid) DO UPDATE SET {updates}, "
                "change_seq = excluded.change_seq"
            )
        _set_progress(conn, stage, max(int(newest), since))
        report.records = conn.execute(text(f"SELECT count(*) FROM {target}")).scalar_one()
        changed_share = (report.normalised + report.deleted) / max(report.records, 1)
        if changed_share > ANALYZE_SHARE:
            # Later stages join these tables right away; autovacuum would be too late.
            # A small change leaves the statistics as they were: not worth a sample.
            conn.exec_driver_sql(f"ANALYZE {target}")
    return report


def _quarantine(conn: Connection, obj: str, target: str, since: int, report: UnifiedReport) -> int:
    """Bring unified.rejected up to date; return how many unified records it took."""
    params = {"obj": obj, "since": since}
    taken = conn.execute(text(query("quarantine_take", unified=target)), params).rowcount
    conn.execute(text(query("quarantine_record")), params)
    report.released = conn.execute(text(query("quarantine_release")), params).rowcount
    conn.execute(text(query("quarantine_from_staging")), params)
    # Every record still rejected was seen so by this run.
    conn.execute(text("UPDATE unified.rejected SET last_seen = now() WHERE object = :obj"), params)
    report.rejected = dict(
        conn.execute(
            text(
                "SELECT reason, count(*) FROM unified.rejected WHERE object = :obj "
                "GROUP BY reason ORDER BY reason"
            ),
            params,
        ).all()
    )
    return taken


@dataclass(frozen=True)
class PreparedBatch:
    """A batch normalised, as the CSV its tables load (`warehouse.sql.frame_csv`)."""

    records: str
    rejected: str
    count: int
    cleaned: Counter


def prepare_batch(obj: str, batch: pd.DataFrame) -> PreparedBatch:
    """Normalise one batch and format it for COPY: in a worker, so the streaming
    process only reads rows and loads text."""
    prepared: Prepared = matcher_for(obj).prepare(batch, CATALOGUE[obj].lengths)
    return PreparedBatch(
        records=frame_csv(prepared.records, unified_columns(obj)),
        rejected=frame_csv(prepared.rejected, REJECTED_COLUMNS),
        count=len(prepared.records) + len(prepared.rejected),
        cleaned=prepared.cleaned,
    )


def _raw_columns(obj: str) -> list[str]:
    return ["org", "sfid", *FIELDS[obj], "systemmodstamp", "hc_lastop"]


def _staged_rows(obj: str, where: str) -> str:
    return (
        f"SELECT {', '.join(_raw_columns(obj))} FROM {ident_static('staging', obj)} "
        f"WHERE {where} ORDER BY change_seq"
    )


def _frame(obj: str, rows) -> pd.DataFrame:
    # Plain tuples: pandas probes each SQLAlchemy row for attributes otherwise, at a
    # few microseconds a row.
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=_raw_columns(obj))


def _read_batches(conn: Connection, obj: str, since: int, size: int) -> Iterator[pd.DataFrame]:
    """The staged rows changed since `since`, streamed in batches of `size`."""
    stream = conn.execute(
        text(_staged_rows(obj, "change_seq > :since")),
        {"since": since},
        execution_options={"stream_results": True, "yield_per": size},
    )
    for rows in stream.partitions(size):
        yield _frame(obj, rows)


@cache
def _worker_engine(url: str) -> Engine:
    return make_engine(url, poolclass=NullPool)


def read_and_prepare(obj: str, url: str, after: int, upto: int) -> PreparedBatch:
    """In a worker: read the staged rows of change sequences (after, upto] on a
    connection of its own, then `prepare_batch` them. The unifying transaction holds
    staging locked (SHARE), so the worker reads what it would read itself."""
    with _worker_engine(url).connect() as conn:
        rows = conn.execute(
            text(_staged_rows(obj, "change_seq > :after AND change_seq <= :upto")),
            {"after": after, "upto": upto},
        ).all()
    return prepare_batch(obj, _frame(obj, rows))


def _prepare_in_workers(
    obj: str, url: str, ranges: list[tuple[int, int]]
) -> Iterator[PreparedBatch]:
    """Read and normalise batches in worker processes, in order.

    Normalising (phone parsing above all) and formatting for COPY are CPU-bound
    Python, and so is turning rows into frames: each worker reads its own batches
    (by change sequence range) and this process only loads the text they return.
    Small change sets (the usual incremental run) stay in-process: starting a pool
    costs more than it saves. Workers come from a fork server, so a script that
    calls this needs the usual `if __name__ == "__main__":` guard.
    """
    workers = max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque = deque()
        for after, upto in ranges:
            pending.append(pool.submit(read_and_prepare, obj, url, after, upto))
            # Bounded read-ahead keeps memory flat however large the change set.
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def ident_static(schema: str, table: str) -> str:
    """Quote org360's own (constant, lower-case) table names."""
    for part in (schema, table):
        if not part.replace("_", "").isalnum() or not part.islower():
            raise ValueError(f"not an org360 table name: {schema}.{table}")
    return f'"{schema}"."{table}"'
