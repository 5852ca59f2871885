import numpy as np

from warehouse.resolution_state import apply_change, merge_changes


def test_keys_after_a_change_are_every_live_records_in_id_order():
    ids = np.array([2, 5, 9, 14], dtype=np.int64)
    keys = np.arange(8, dtype=np.int64).reshape(4, 2)
    changed = np.array([5, 20, 17], dtype=np.int64)  # one update, two new records
    fresh = np.array([[50, 51], [200, 201], [170, 171]], dtype=np.int64)
    out_ids, out_keys = apply_change(ids, keys, changed, fresh, np.array([9], dtype=np.int64))
    assert out_ids.tolist() == [2, 5, 14, 17, 20]
    assert out_keys.tolist() == [[0, 1], [50, 51], [6, 7], [170, 171], [200, 201]]


def test_keys_of_the_first_records():
    empty_ids, empty_keys = np.empty(0, np.int64), np.empty((0, 2), np.int64)
    fresh = np.array([[1, 2]], dtype=np.int64)
    out_ids, out_keys = apply_change(
        empty_ids, empty_keys, np.array([3], np.int64), fresh, np.empty(0, np.int64)
    )
    assert out_ids.tolist() == [3] and out_keys.tolist() == [[1, 2]]


def test_runs_that_changed_nothing_merge_into_no_change():
    empty = (np.empty(0, np.int64), np.empty((0, 2), np.int64), np.empty(0, np.int64))
    changed, keys, removed = merge_changes([empty, empty, empty], 2)
    assert len(changed) == 0 and keys.shape == (0, 2) and len(removed) == 0
    ids, stored = np.array([1, 2], np.int64), np.array([[1, 2], [3, 4]], np.int64)
    out_ids, out_keys = apply_change(ids, stored, changed, keys, removed)
    assert out_ids.tolist() == [1, 2] and out_keys.tolist() == [[1, 2], [3, 4]]


def test_merged_changes_applied_once_equal_the_changes_applied_in_turn():
    rng = np.random.default_rng(7)
    for _ in range(50):
        ids = np.sort(rng.choice(np.arange(1, 60), size=30, replace=False)).astype(np.int64)
        keys = rng.integers(-99, 99, size=(len(ids), 3)).astype(np.int64)
        changes = []
        next_id = 60
        for _ in range(int(rng.integers(1, 5))):
            # Updates and removals of any id seen so far (a removed one may come back),
            # and new records with ids never used before.
            known = rng.choice(np.arange(1, next_id), size=6, replace=False)
            new = np.arange(next_id, next_id + int(rng.integers(0, 4)))
            next_id += len(new)
            changed = np.concatenate([known[:3], new]).astype(np.int64)
            removed = known[3:].astype(np.int64)
            if rng.random() < 0.25:  # a run where nothing changed appends an empty change
                changed, removed = changed[:0], removed[:0]
            changes.append((changed, rng.integers(-99, 99, size=(len(changed), 3)), removed))
        one_by_one = (ids.copy(), keys.copy())
        for change in changes:
            one_by_one = apply_change(*one_by_one, *change)
        merged = apply_change(ids.copy(), keys.copy(), *merge_changes(changes, 3))
        np.testing.assert_array_equal(merged[0], one_by_one[0])
        np.testing.assert_array_equal(merged[1], one_by_one[1])


def test_removing_records_keeps_every_other_row_whichever_rows_go():
    rng = np.random.default_rng(11)
    ids = np.arange(1, 41, dtype=np.int64)
    keys = np.arange(80, dtype=np.int64).reshape(40, 2)
    # The first and last rows, neighbours, an unknown id and a repeated one among them.
    for removed in ([1], [40], [1, 2, 3], [39, 40], [5, 5, 99], rng.choice(ids, 20).tolist()):
        gone = np.asarray(removed, dtype=np.int64)
        out_ids, out_keys = apply_change(
            ids, keys.copy(), np.empty(0, np.int64), np.empty((0, 2), np.int64), gone
        )
        live = ~np.isin(ids, gone)
        assert out_ids.tolist() == ids[live].tolist()
        assert out_keys.tolist() == keys[live].tolist()
