import pandas as pd

from dedupe.evaluate import queue_recall, score_clusters
from dedupe.identity import assign_cluster_ids, new_golden_id


def _assign(obj, prefix, rows, issued_at, reserved=frozenset()):
    """`assign_cluster_ids` on members given one per row (cluster, member key, previous
    id), summarised here as the xref build's queries summarise them."""
    members = pd.DataFrame(rows, columns=["cluster", "member_key", "previous_id"])
    smallest = members.groupby("cluster")["member_key"].agg(lambda keys: min(keys.tolist()))
    holdings = (
        members.dropna(subset=["previous_id"])
        .groupby(["previous_id", "cluster"])
        .size()
        .rename("count")
        .reset_index()
    )
    return assign_cluster_ids(obj, prefix, smallest, holdings, issued_at, reserved)


def test_unchanged_clusters_keep_their_ids():
    members = [(1, "a/1", "G1"), (1, "a/2", "G1"), (2, "b/1", "G2")]
    assert _assign("account", "GA", members, {}) == {1: "G1", 2: "G2"}


def test_split_gives_the_id_to_the_larger_part_and_a_new_id_to_the_rest():
    members = [(1, "a/1", "G1"), (1, "a/2", "G1"), (2, "a/3", "G1")]
    ids = _assign("account", "GA", members, {"G1": "2026-01-01"})
    assert ids[1] == "G1"
    assert ids[2] == new_golden_id("account", "GA", "a/3")


def test_merge_keeps_the_older_id():
    members = [(1, "a/1", "GNEW"), (1, "a/2", "GNEW"), (1, "b/1", "GOLD")]
    ids = _assign("account", "GA", members, {"GOLD": "2025-01-01", "GNEW": "2026-01-01"})
    assert ids == {1: "GOLD"}


def test_new_ids_are_deterministic_and_avoid_reserved_ones():
    members = [(5, "a/9", None)]
    first = _assign("contact", "GC", members, {})
    assert first == _assign("contact", "GC", members, {})
    assert first[5].startswith("GC") and len(first[5]) == 18
    other = _assign("contact", "GC", members, {}, reserved={first[5]})
    assert other[5] != first[5]


def test_pairwise_and_bcubed_scores():
    frame = pd.DataFrame({"predicted": [1, 1, 1, 2, 3], "truth": ["x", "x", "y", "y", "z"]})
    quality = score_clusters(frame)
    assert quality.true_pairs == 2 and quality.predicted_pairs == 3 and quality.correct_pairs == 1
    assert round(quality.precision, 4) == 0.3333 and quality.recall == 0.5
    assert 0 < quality.bcubed_f1 < 1


def test_queue_recall_counts_the_missed_pairs_a_steward_is_shown():
    frame = pd.DataFrame(
        {
            # Entity e1 split three ways (G1: 2 records, G2: 1, G3: 1), e2 whole.
            "predicted": ["G1", "G1", "G2", "G3", "G4", "G4"],
            "truth": ["e1", "e1", "e1", "e1", "e2", "e2"],
        }
    )
    # Missed: G1-G2 (2 pairs), G1-G3 (2), G2-G3 (1); the queue shows G2-G1 and G4-G3.
    queue = pd.DataFrame({"a": ["G2", "G4"], "b": ["G1", "G3"]})
    result = queue_recall(frame, queue)
    assert (result.missed_pairs, result.queued_pairs) == (5, 2)
    assert result.share == 0.4
    assert queue_recall(frame.iloc[4:], queue).share == 1.0  # nothing missed
