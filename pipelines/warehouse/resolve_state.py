"""What one resolution leaves for the next: how far it read, with which model, every
record's blocking keys, and the changes publication has yet to take.

An incremental resolution is only sound on top of pairs scored by the same model
and blocking rules, so the state carries a fingerprint of both; when it differs (or
there is no state) resolution runs in full.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from dedupe.estimate import MODEL_VERSION
from dedupe.settings import MatchSettings
from pipelines.warehouse.sql import copy_frame

# Block keys are stored in parts of this many records (a bytea value holds up to 1 GB).
PART_ROWS = 1_000_000


def stored_rules(model: MatchSettings) -> tuple[tuple[str, ...], ...]:
    """The keys stored per record: every blocking rule's, then each term-frequency
    column's (so an incremental run counts how common a name is without a scan)."""
    counted = tuple((c.column,) for c in model.comparisons if c.term_frequency)
    return model.blocking_rules + tuple(dict.fromkeys(counted))


@dataclass(frozen=True)
class ResolveState:
    change_seq: int
    fingerprint: str


# Bumped when what is stored per record (the keys, how they are hashed or laid out)
# changes.
KEYS_VERSION = 2


def fingerprint(settings: MatchSettings, params: dict) -> str:
    """The model (settings and fitted parameters) that scored the stored pairs, and
    the form of the stored keys."""
    text_form = json.dumps(
        [MODEL_VERSION, KEYS_VERSION, repr(settings), params], sort_keys=True, default=str
    )
    return hashlib.sha256(text_form.encode()).hexdigest()


def load_state(conn: Connection, obj: str) -> ResolveState | None:
    row = conn.execute(
        text("SELECT change_seq, fingerprint FROM resolve.state WHERE object = :obj"),
        {"obj": obj},
    ).first()
    return None if row is None else ResolveState(int(row.change_seq), row.fingerprint)


def save_state(conn: Connection, obj: str, state: ResolveState) -> None:
    conn.execute(
        text(
            "INSERT INTO resolve.state (object, change_seq, fingerprint) "
            "VALUES (:obj, :seq, :fp) ON CONFLICT (object) DO UPDATE SET "
            "change_seq = excluded.change_seq, fingerprint = excluded.fingerprint, "
            "resolved_at = now()"
        ),
        {"obj": obj, "seq": state.change_seq, "fp": state.fingerprint},
    )


def forget_state(conn: Connection, obj: str) -> None:
    """The next resolution of `obj` runs in full."""
    conn.execute(text("DELETE FROM resolve.state WHERE object = :obj"), {"obj": obj})


# PostgreSQL's binary COPY format: the block keys travel as raw bytes, not as hex text.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_HEADER = _COPY_SIGNATURE + struct.pack("!ii", 0, 0)


def _cursor(conn: Connection):
    return conn.connection.dbapi_connection.cursor()


def load_block_keys(conn: Connection, obj: str, rules: int) -> tuple[np.ndarray, np.ndarray]:
    """(record ids ascending, keys: records x rules) as the last resolution left them."""
    buffer = io.BytesIO()
    cursor = _cursor(conn)
    try:
        cursor.copy_expert(
            "COPY (SELECT record_ids, keys FROM resolve.block_key WHERE object = "
            f"{_literal(obj)} ORDER BY part) TO STDOUT WITH (FORMAT binary)",
            buffer,
        )
    finally:
        cursor.close()
    data = buffer.getbuffer()
    ids, keys = [], []
    offset = len(_COPY_HEADER)
    while True:
        (fields,) = struct.unpack_from("!h", data, offset)
        offset += 2
        if fields == -1:
            break
        values = []
        for _ in range(fields):
            (length,) = struct.unpack_from("!i", data, offset)
            offset += 4
            # The arrays' own bytes (bytea is opaque to the COPY format): no conversion.
            values.append(np.frombuffer(data[offset : offset + length], dtype=np.int64))
            offset += length
        ids.append(values[0])
        keys.append(values[1].reshape(-1, rules))
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty((0, rules), dtype=np.int64)
    if len(ids) == 1:
        return ids[0].copy(), keys[0].copy()
    return np.concatenate(ids), np.vstack(keys)


def _literal(obj: str) -> str:
    if not obj.isalpha():
        raise ValueError(f"not an org360 object: {obj!r}")
    return f"'{obj}'"


def save_block_keys(conn: Connection, obj: str, record_ids: np.ndarray, keys: np.ndarray) -> None:
    conn.execute(text("DELETE FROM resolve.block_key WHERE object = :obj"), {"obj": obj})

    def field(value: bytes) -> bytes:
        return struct.pack("!i", len(value)) + value

    parts = [_COPY_HEADER]
    for part, start in enumerate(range(0, max(len(record_ids), 1), PART_ROWS)):
        stop = start + PART_ROWS
        parts += [
            struct.pack("!h", 4),
            field(obj.encode()),
            field(struct.pack("!i", part)),
            field(np.ascontiguousarray(record_ids[start:stop], dtype=np.int64).tobytes()),
            field(np.ascontiguousarray(keys[start:stop], dtype=np.int64).tobytes()),
        ]
    parts.append(struct.pack("!h", -1))
    cursor = _cursor(conn)
    try:
        cursor.copy_expert(
            "COPY resolve.block_key (object, part, record_ids, keys) FROM STDIN "
            "WITH (FORMAT binary)",
            io.BytesIO(b"".join(parts)),
        )
    finally:
        cursor.close()


def mark_changed(conn: Connection, obj: str, records: pd.DataFrame) -> None:
    """Source records (org, sfid, and whether their cluster `moved`) whose golden records
    the next publication rebuilds."""
    if records.empty:
        return
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS changed_in "
        "(org varchar(40), sfid varchar(18), moved boolean) ON COMMIT DROP"
    )
    conn.exec_driver_sql("TRUNCATE changed_in")
    rows = records.assign(moved=records.get("moved", True))
    copy_frame(conn, "changed_in", rows, ["org", "sfid", "moved"])
    conn.execute(
        text(
            "INSERT INTO resolve.changed (object, org, sfid, moved) "
            "SELECT :obj, org, sfid, bool_or(moved) FROM changed_in GROUP BY org, sfid "
            "ON CONFLICT (object, org, sfid) DO UPDATE "
            "SET moved = resolve.changed.moved OR excluded.moved"
        ),
        {"obj": obj},
    )
    # The golden builds join it with million-row tables: the planner must know it is small.
    conn.exec_driver_sql("ANALYZE resolve.changed")


def mark_rebuild(conn: Connection, obj: str) -> None:
    """Every golden record of `obj` is rebuilt and compared at the next publication."""
    conn.execute(
        text("INSERT INTO resolve.rebuild (object) VALUES (:obj) ON CONFLICT DO NOTHING"),
        {"obj": obj},
    )


def consume_deletions(conn: Connection, obj: str, up_to: int) -> pd.DataFrame:
    """Records the unified stage deleted, up to change `up_to`: (record_id, org, sfid).
    Removed from the log here; the caller marks them changed in the same transaction."""
    return pd.read_sql_query(
        text(
            "DELETE FROM unified.deletion WHERE object = :obj AND change_seq <= :seq "
            "RETURNING record_id, org, sfid"
        ),
        conn,
        params={"obj": obj, "seq": up_to},
    )


def request_full_resolution(engine: Engine) -> None:
    """The next run resolves every object in full: every pair rescored, every golden
    record rebuilt and compared."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM resolve.state")
