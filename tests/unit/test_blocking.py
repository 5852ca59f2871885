import numpy as np
import pandas as pd

from dedupe.blocking import candidate_pairs


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
