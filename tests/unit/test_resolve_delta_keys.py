import numpy as np

from pipelines.warehouse.resolve_state import apply_change


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
