"""Stored block keys: a full run's, with each incremental run's change appended, read
back as every record's keys; rewritten whole once the changes pile up."""

import numpy as np
from sqlalchemy import text

from warehouse import resolution_state as state


def _parts(engine) -> list[int]:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT part FROM resolve.block_key ORDER BY part")).scalars().all()
        )


def test_changes_are_appended_then_folded_in(engine, monkeypatch):
    monkeypatch.setattr(state, "PART_ROWS", 40)  # several base parts
    rng = np.random.default_rng(2)
    ids = np.arange(1, 101, dtype=np.int64)
    keys = rng.integers(1, 2**62, (100, 3), dtype=np.int64)
    with engine.begin() as conn:
        state.save_block_keys(conn, "contact", ids, keys)
    assert _parts(engine) == [0, 1, 2]

    expected_ids, expected = ids.copy(), keys.copy()
    for step in range(2):
        changed = np.array([5 + step, 150 + step], dtype=np.int64)  # an update, a new record
        fresh = rng.integers(1, 2**62, (2, 3), dtype=np.int64)
        removed = np.array([60 + step], dtype=np.int64)
        expected_ids, expected = state.apply_change(
            expected_ids, expected.copy(), changed, fresh, removed
        )
        with engine.begin() as conn:
            state.save_key_change(conn, "contact", changed, fresh, removed, expected_ids, expected)
    assert _parts(engine) == [-2, -1, 0, 1, 2]
    with engine.connect() as conn:
        loaded_ids, loaded = state.load_block_keys(conn, "contact", 3)
    assert loaded_ids.tolist() == expected_ids.tolist()
    assert (loaded == expected).all()

    big = np.arange(1, 40, dtype=np.int64)  # more than a fifth of the records changed
    fresh = np.ones((len(big), 3), dtype=np.int64)
    expected_ids, expected = state.apply_change(
        expected_ids, expected.copy(), big, fresh, np.empty(0, np.int64)
    )
    with engine.begin() as conn:
        state.save_key_change(
            conn, "contact", big, fresh, np.empty(0, np.int64), expected_ids, expected
        )
    assert _parts(engine) == [0, 1, 2]
    with engine.connect() as conn:
        loaded_ids, loaded = state.load_block_keys(conn, "contact", 3)
    assert loaded_ids.tolist() == expected_ids.tolist() and (loaded == expected).all()
