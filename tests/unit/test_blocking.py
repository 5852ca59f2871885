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
