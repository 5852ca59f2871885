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
from dedupe.score import ScoredPairs
from dedupe.settings import MatchSettings
from warehouse.sql import (
    COPY_BINARY_HEADER,
    COPY_BINARY_TRAILER,
    copy_binary,
    copy_frame,
    copy_in,
    copy_out,
)

# Block keys are stored in parts of this many records (a bytea value holds up to 1 GB).
PART_ROWS = 1_000_000
# Where resolution keeps its records' keys; lead matching keeps its own alike
# (`warehouse.lead_store`).
BLOCK_KEYS = "resolve.block_key"


def stored_weights(match_weight: np.ndarray) -> np.ndarray:
    """Match weights as `resolve.<obj>_pair` holds them."""
    return np.asarray(match_weight, dtype=np.float64).round(4)


def save_pairs(conn: Connection, obj: str, scored: ScoredPairs, ids: np.ndarray, shard: int) -> int:
    """Keep the pairs `resolve.<obj>_pair` holds: matches and review candidates, with
    the per-field weights stewards see (`ids` maps the scored positions to record ids).
    Returns how many."""
    keep = np.flatnonzero(scored.is_match | scored.is_review)
    left, right = ids[scored.left[keep]].astype(np.int64), ids[scored.right[keep]].astype(np.int64)
    # In key order: the primary key's index then takes the rows page by page, not each
    # at a random place (measured: COPY of 446,086 kept pairs 2.5-2.9 s, 3.2-4.6 s in
    # random order).
    order = np.lexsort((right, left))
    keep, left, right = keep[order], left[order], right[order]
    copy_binary(
        conn,
        f"resolve.{obj}_pair",
        {
            "left_id": left,
            "right_id": right,
            "match_weight": stored_weights(scored.match_weight[keep]),
            "probability": scored.probability[keep].round(6).astype(np.float64),
            "is_match": scored.is_match[keep],
            "shard": np.full(len(keep), shard, dtype=np.int16),
        },
        text=("field_weights", scored.explain_json(keep)),
    )
    return len(keep)


@dataclass(frozen=True)
class ResolveState:
    change_seq: int
    fingerprint: str


# Bumped when what is stored per record (the keys, how they are hashed or laid out)
# changes.
KEYS_VERSION = 3


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


# An incremental run appends its changes to the stored keys rather than rewriting them
# all (a hundred megabytes at a million records, and as much for autovacuum to clean);
# once the changes add up to this share of the records, the keys are written afresh.
COMPACT_SHARE = 0.2


def _fields(data: memoryview, offset: int) -> tuple[list[memoryview | None], int]:
    """One row of a binary COPY: its fields (None for null) and where the next starts."""
    (count,) = struct.unpack_from("!h", data, offset)
    offset += 2
    values: list[memoryview | None] = []
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from("!i", data, offset)
        offset += 4
        if length < 0:
            values.append(None)
            continue
        values.append(data[offset : offset + length])
        offset += length
    return (values if count >= 0 else []), offset


def _ints(value: memoryview | None) -> np.ndarray:
    # The arrays' own bytes (bytea is opaque to the COPY format): no conversion.
    return np.frombuffer(value, dtype=np.int64) if value is not None else np.empty(0, np.int64)


def _find(record_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `ids` is in the ascending `record_ids`, and whether it is there."""
    where = np.searchsorted(record_ids, ids)
    found = where < len(record_ids)
    found[found] = record_ids[where[found]] == ids[found]
    return where, found


def _copy_without(values: np.ndarray, drop: np.ndarray, out: np.ndarray) -> None:
    """`values` without the rows at the ascending positions `drop`, into `out`: copied
    run by run between the dropped rows. A change drops a few thousand of a million
    rows; a boolean mask over all of them was 15 times slower (measured)."""
    start = done = 0
    for index in drop.tolist():
        size = index - start
        out[done : done + size] = values[start:index]
        done, start = done + size, index + 1
    out[done:] = values[start:]


def apply_change(
    record_ids: np.ndarray,
    keys: np.ndarray,
    changed: np.ndarray,
    changed_keys: np.ndarray,
    removed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every record's keys after a change, in record id order. Updated records are
    overwritten in place (record ids are stable); the rest is copied once, with the
    removed records left out and the new ones added (last, as their ids come)."""
    where, known = _find(record_ids, changed)
    keys[where[known]] = changed_keys[known]
    at, gone = _find(record_ids, removed)
    new = ~known
    if not gone.any() and not new.any():
        return record_ids, keys
    drop = np.unique(at[gone])
    kept = len(record_ids) - len(drop)
    out_ids = np.empty(kept + int(new.sum()), dtype=np.int64)
    # Rule by rule, as stored: blocking reads a rule's keys at a time.
    out_keys = np.empty((len(out_ids), keys.shape[1]), dtype=np.int64, order="F")
    _copy_without(record_ids, drop, out_ids[:kept])
    _copy_without(keys, drop, out_keys[:kept])
    out_ids[kept:], out_keys[kept:] = changed[new], changed_keys[new]
    if (np.diff(out_ids[max(kept - 1, 0) :]) < 0).any():
        order = np.argsort(out_ids, kind="stable")
        out_ids, out_keys = out_ids[order], out_keys[order]
    return out_ids, out_keys


def merge_changes(
    changes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rules: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several runs' changes (changed ids, their keys, removed ids; oldest first) as
    one: each record's last event wins, a change or a removal. Applying the merged
    change once copies the stored keys once, however many runs appended theirs."""
    if len(changes) == 1:
        return changes[0]
    ids = np.concatenate([i for c in changes for i in (c[0], c[2])])
    runs = np.concatenate(
        [np.full(len(c[0]) + len(c[2]), n, dtype=np.int64) for n, c in enumerate(changes)]
    )
    is_change = np.concatenate(
        [np.r_[np.ones(len(c[0]), bool), np.zeros(len(c[2]), bool)] for c in changes]
    )
    rows = np.concatenate(
        [np.r_[np.arange(len(c[0])), np.full(len(c[2]), -1)] for c in changes]
    ).astype(np.int64)
    order = np.lexsort((runs, ids))  # by id, then run
    in_order = ids[order]
    is_last = np.ones(len(order), dtype=bool)  # each id's latest event
    is_last[:-1] = in_order[1:] != in_order[:-1]
    last = order[is_last]
    kept_changes = last[is_change[last]]
    keys = np.vstack([c[1] for c in changes] or [np.empty((0, rules), np.int64)])
    offsets = np.cumsum([0] + [len(c[0]) for c in changes])[:-1]
    key_rows = offsets[runs[kept_changes]] + rows[kept_changes]
    return ids[kept_changes], keys[key_rows], ids[last[~is_change[last]]]


Change = tuple[np.ndarray, np.ndarray, np.ndarray]  # changed ids, their keys, removed ids


def read_block_keys(
    conn: Connection, obj: str, rules: int, table: str = BLOCK_KEYS
) -> tuple[np.ndarray, np.ndarray, list[Change]]:
    """What `load_block_keys` reads, before it applies the stored changes: the keys a
    full run wrote (record ids ascending, records x rules) and every later run's change,
    oldest first. They travel as raw bytes in binary COPY, not as hex text."""
    buffer = io.BytesIO()
    copy_out(
        conn,
        f"SELECT part, record_ids, keys, removed FROM {table} WHERE object = %(obj)s "
        "ORDER BY part < 0, abs(part)",
        {"obj": obj},
        "FORMAT binary",
        buffer,
    )
    data = buffer.getbuffer()
    offset = len(COPY_BINARY_HEADER)
    base_ids: list[np.ndarray] = []
    base_keys: list[np.ndarray] = []
    changes: list[Change] = []
    while True:
        values, offset = _fields(data, offset)
        if not values:
            break
        (part,) = struct.unpack("!i", values[0])
        ids, keys = _ints(values[1]), _keys_from(values[2], rules)
        if part >= 0:
            base_ids.append(ids)
            base_keys.append(keys)
        else:
            changes.append((ids, keys, _ints(values[3])))
    # One part (up to a million records) is used where it lies in the buffer: the keys
    # of a million records are a hundred MB, and every copy of them costs.
    record_ids = np.concatenate(base_ids) if base_ids else np.empty(0, np.int64)
    if len(base_keys) == 1:
        all_keys = base_keys[0]
    else:
        all_keys = np.empty((len(record_ids), rules), dtype=np.int64, order="F")
        if base_keys:
            np.concatenate(base_keys, out=all_keys)
    return record_ids, all_keys, changes


def load_block_keys(
    conn: Connection, obj: str, rules: int, table: str = BLOCK_KEYS
) -> tuple[np.ndarray, np.ndarray]:
    """(record ids ascending, keys: records x rules) as the last resolution left them:
    the keys a full run wrote, with every later run's changes applied in order."""
    record_ids, keys, changes = read_block_keys(conn, obj, rules, table)
    if changes:
        record_ids, keys = apply_change(record_ids, keys, *merge_changes(changes, rules))
    return record_ids, keys


def _field(value: bytes | None) -> bytes:
    return struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value


def _copy_rows(
    conn: Connection, rows: list[tuple[str, int, bytes, bytes, bytes | None]], table: str
) -> None:
    payload = [COPY_BINARY_HEADER]
    for row in rows:
        obj, part, ids, keys, removed = row
        payload += [
            struct.pack("!h", 5),
            _field(obj.encode()),
            _field(struct.pack("!i", part)),
            _field(ids),
            _field(keys),
            _field(removed),
        ]
    payload.append(COPY_BINARY_TRAILER)
    copy_in(
        conn,
        f"COPY {table} (object, part, record_ids, keys, removed) FROM STDIN WITH (FORMAT binary)",
        io.BytesIO(b"".join(payload)),
    )


def _bytes(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype=np.int64).tobytes()


def _key_bytes(keys: np.ndarray) -> bytes:
    """Keys (records x rules) stored rule by rule: read back, each rule's keys lie
    together in memory, and blocking reads them a rule at a time."""
    return _bytes(np.asarray(keys, dtype=np.int64).T)


def _keys_from(value: memoryview | None, rules: int) -> np.ndarray:
    """Stored keys as a (records x rules) array laid out rule by rule (Fortran order),
    in the buffer they arrived in."""
    return _ints(value).reshape(rules, -1).T


def save_block_keys(
    conn: Connection,
    obj: str,
    record_ids: np.ndarray,
    keys: np.ndarray,
    table: str = BLOCK_KEYS,
) -> None:
    """Every record's keys, written afresh (earlier changes folded in)."""
    conn.execute(text(f"DELETE FROM {table} WHERE object = :obj"), {"obj": obj})
    _copy_rows(
        conn,
        [
            (
                obj,
                part,
                _bytes(record_ids[start : start + PART_ROWS]),
                _key_bytes(keys[start : start + PART_ROWS]),
                None,
            )
            for part, start in enumerate(range(0, max(len(record_ids), 1), PART_ROWS))
        ],
        table,
    )


def save_key_change(
    conn: Connection,
    obj: str,
    changed: np.ndarray,
    changed_keys: np.ndarray,
    removed: np.ndarray,
    record_ids: np.ndarray,
    keys: np.ndarray,
    table: str = BLOCK_KEYS,
) -> None:
    """Store one run's change to the keys (`record_ids`, `keys`: all of them after it):
    appended, or everything written afresh once the changes have piled up."""
    pending, last = conn.execute(
        text(
            "SELECT coalesce(sum(length(record_ids) + coalesce(length(removed), 0)) / 8, 0), "
            f"coalesce(min(part), 0) FROM {table} WHERE object = :obj AND part < 0"
        ),
        {"obj": obj},
    ).one()
    if pending + len(changed) + len(removed) > COMPACT_SHARE * max(len(record_ids), 1):
        save_block_keys(conn, obj, record_ids, keys, table)
        return
    _copy_rows(
        conn,
        [(obj, int(last) - 1, _bytes(changed), _key_bytes(changed_keys), _bytes(removed))],
        table,
    )


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
