"""Score a clustering against known truth: pairwise precision/recall/F1 and B-cubed."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Quality:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float

    def line(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
            f"B-cubed F1 {self.bcubed_f1:.4f}  ({self.records} records, "
            f"{self.true_pairs} true pairs, {self.predicted_pairs} predicted)"
        )


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_clusters(
    frame: pd.DataFrame, predicted: str = "predicted", truth: str = "truth"
) -> Quality:
    """`frame` has one row per record with its predicted and true cluster labels."""
    n = len(frame)
    both = frame.groupby([predicted, truth]).size()
    pred_sizes = frame.groupby(predicted).size()
    true_sizes = frame.groupby(truth).size()
    correct = _pairs(both)
    predicted_pairs = _pairs(pred_sizes)
    true_pairs = _pairs(true_sizes)
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0

    # B-cubed: per record, the share of its predicted cluster that truly belongs with it
    # (precision) and the share of its true cluster that it was put with (recall).
    joint = both.rename("joint").reset_index()
    joint["pred_size"] = joint[predicted].map(pred_sizes)
    joint["true_size"] = joint[truth].map(true_sizes)
    b_precision = float((joint["joint"] ** 2 / joint["pred_size"]).sum() / n) if n else 1.0
    b_recall = float((joint["joint"] ** 2 / joint["true_size"]).sum() / n) if n else 1.0
    return Quality(
        records=n,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
    )


@dataclass(frozen=True)
class QueueRecall:
    """Of the true pairs left in separate clusters, how many a steward is shown: their
    two clusters are paired in the review queue."""

    missed_pairs: int
    queued_pairs: int

    @property
    def share(self) -> float:
        return self.queued_pairs / self.missed_pairs if self.missed_pairs else 1.0

    def line(self) -> str:
        return (
            f"queue recall {self.share:.4f} ({self.queued_pairs} of {self.missed_pairs} "
            "missed pairs in the review queue)"
        )


def queue_recall(
    frame: pd.DataFrame,
    queue: pd.DataFrame,
    predicted: str = "predicted",
    truth: str = "truth",
) -> QueueRecall:
    """`frame` as for `score_clusters`; `queue` has one row per pair of predicted
    clusters under review (columns `a`, `b`, either order)."""
    parts = frame.groupby([truth, predicted]).size().rename("size").reset_index()
    split = parts[parts.duplicated(truth, keep=False)]
    # Every two clusters holding records of one entity: their records' pairs are missed.
    cross = split.merge(split, on=truth, suffixes=("_a", "_b"))
    cross = cross[cross[f"{predicted}_a"] < cross[f"{predicted}_b"]]
    pairs = cross["size_a"] * cross["size_b"]
    reviewed = {(min(a, b), max(a, b)) for a, b in queue[["a", "b"]].itertuples(index=False)}
    queued = [
        (a, b) in reviewed
        for a, b in cross[[f"{predicted}_a", f"{predicted}_b"]].itertuples(index=False)
    ]
    return QueueRecall(int(pairs.sum()), int(pairs[queued].sum()) if len(cross) else 0)
