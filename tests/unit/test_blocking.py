import numpy as np
import pandas as pd

from dedupe.blocking import candidate_pairs, key_hashes, pairs_with


def test_pairs_share_a_rule_key_and_oversized_blocks_are_skipped():
    frame = pd.DataFrame(
        {
            "a": ["x", "x", "y", None, "z", "z", "z"],
            "b": ["1", "2", "1", "1", "9", "9", "9"],
        }
    ).astype(object)
    left, right, reports = candidate_pairs(frame, (("a",), ("b",)), max_block_size=3)
    pairs = set(zip(left.tolist(), right.tolist(), strict=True))
    # rule a: x block (0,1) and z block; rule b: blocks "1" (0,2,3) and "9"; null keys never pair
    assert pairs == {(0, 1), (4, 5), (4, 6), (5, 6), (0, 2), (0, 3), (2, 3)}

    left, right, reports = candidate_pairs(frame, (("a",), ("b",)), max_block_size=2)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == {(0, 1)}
    assert [r.oversized_blocks for r in reports] == [1, 2]
    assert np.all(left < right)


def test_shards_find_every_pair_exactly_once():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 40, 600).astype(str),
            "b": rng.integers(0, 90, 600).astype(str),
            "c": np.where(rng.random(600) < 0.3, None, rng.integers(0, 25, 600).astype(str)),
        }
    ).astype(object)
    rules = (("a",), ("b",), ("a", "c"), ("c",))
    left, right, _ = candidate_pairs(frame, rules, max_block_size=30)
    whole = set(zip(left.tolist(), right.tolist(), strict=True))
    assert len(whole) == len(left)  # unique without a sort
    found: list[tuple[int, int]] = []
    for shard in range(3):
        left, right, reports = candidate_pairs(frame, rules, 30, shard=shard, shards=3)
        assert np.all(left < right)
        found.extend(zip(left.tolist(), right.tolist(), strict=True))
        assert all(0 < r.new_pairs <= r.pairs for r in reports[:2])
    assert len(found) == len(set(found)) and set(found) == whole


def test_a_changed_records_pairs_are_the_full_runs_pairs_that_hold_it():
    rng = np.random.default_rng(8)
    n = 800
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 60, n).astype(str),
            "b": np.where(rng.random(n) < 0.2, None, rng.integers(0, 120, n).astype(str)),
            "c": rng.integers(0, 4, n).astype(str),  # blocks far over the limit
        }
    ).astype(object)
    rules = (("a",), ("b", "c"), ("c",))
    left, right, _ = candidate_pairs(frame, rules, max_block_size=25)
    record_ids = np.arange(n, dtype=np.int64) * 10 + 7  # ids are not positions
    whole = set(zip(record_ids[left].tolist(), record_ids[right].tolist(), strict=True))
    keys = key_hashes(frame, rules)
    assert (keys[frame["b"].isna().to_numpy(), 1] == 0).all()  # no key: never a pair

    changed = np.sort(rng.choice(record_ids, 40, replace=False))
    left, right = pairs_with(record_ids, keys, changed, 25)
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert len(found) == len(left) and np.all(left < right)
    assert found == {p for p in whole if p[0] in set(changed) or p[1] in set(changed)}

    everything = pairs_with(record_ids, keys, record_ids, 25)
    assert set(zip(*(side.tolist() for side in everything), strict=True)) == whole


def test_key_hashes_are_stable_and_rule_specific():
    frame = pd.DataFrame({"a": ["x", "x", "y"], "b": ["x", "q", None]}).astype(object)
    keys = key_hashes(frame, (("a",), ("b",), ("a", "b")))
    again = key_hashes(frame.iloc[[2, 0, 1]].reset_index(drop=True), (("a",), ("b",), ("a", "b")))
    assert (keys[[2, 0, 1]] == again).all()  # a record's keys do not depend on the others
    assert keys[0, 0] == keys[1, 0] and keys[0, 0] != keys[0, 1]  # same value, other rule
    assert keys[2, 1] == 0 and keys[2, 2] == 0
    # Stored keys must stay valid across versions of org360: the hashes are pinned.
    assert keys[0].tolist() == [3721633091417616760, -2770543799526831979, -1906431208603893087]


def test_a_changed_record_that_shares_no_block_has_no_pairs():
    record_ids = np.arange(1, 6, dtype=np.int64)
    keys = np.array([[11, 0], [12, 0], [13, 7], [14, 7], [15, 0]], dtype=np.int64)
    left, right = pairs_with(record_ids, keys, np.array([1], dtype=np.int64), 25)
    assert len(left) == 0 and len(right) == 0
    left, right = pairs_with(record_ids, keys, np.array([3, 4], dtype=np.int64), 25)
    assert left.tolist() == [3] and right.tolist() == [4]
