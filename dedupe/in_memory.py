"""Resolve one object's records: block, score, cluster. The whole matching run in one call."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dedupe.blocking import BlockingReport, candidate_pairs
from dedupe.cluster import cluster
from dedupe.estimate import fit
from dedupe.features import FEATURES
from dedupe.score import ScoredPairs, score_pairs
from dedupe.settings import MatchSettings


@dataclass
class Resolution:
    """Cluster labels (positions into the input frame) and the scored pairs behind them."""

    labels: np.ndarray
    scored: ScoredPairs
    blocking: list[BlockingReport] = field(default_factory=list)

    @property
    def settings(self) -> MatchSettings:
        """The settings the pairs were scored with (fitted to the data when asked)."""
        return self.scored.settings

    @property
    def cluster_count(self) -> int:
        return len(np.unique(self.labels))


def resolve(
    frame: pd.DataFrame,
    settings: MatchSettings,
    must_links: tuple[np.ndarray, np.ndarray] | None = None,
    cannot_links: tuple[np.ndarray, np.ndarray] | None = None,
    fit_to_data: bool = True,
    previous: np.ndarray | None = None,
) -> Resolution:
    """`frame` holds one row per record (positions are identities here).

    `must_links` / `cannot_links` are steward decisions as position pairs. With
    `fit_to_data`, the model is fitted to this frame first (`dedupe.estimate.fit`);
    without, `settings` are used as
    given (e.g. parameters fitted on an earlier run).
    `previous` labels each record with its cluster in the last run (None: new), so
    borderline pairs decided then are decided the same way now.
    """
    features = FEATURES[settings.object](frame.reset_index(drop=True))
    if fit_to_data:
        settings = fit(features, settings)
    left, right, blocking = candidate_pairs(
        features, settings.blocking_rules, settings.max_block_size
    )
    scored = score_pairs(features, left, right, settings, previous=previous)
    matches = scored.is_match
    # Cannot-links between records no match connects cost the clustering nothing.
    cannot = scored.is_cannot_link
    cannot_left = scored.left[cannot]
    cannot_right = scored.right[cannot]
    if cannot_links is not None:
        cannot_left = np.concatenate([cannot_left, cannot_links[0]])
        cannot_right = np.concatenate([cannot_right, cannot_links[1]])
    must_left, must_right = must_links if must_links is not None else ((), ())
    labels = cluster(
        len(features),
        scored.left[matches],
        scored.right[matches],
        scored.match_weight[matches],
        cannot_left,
        cannot_right,
        must_left,
        must_right,
    )
    return Resolution(labels=labels, scored=scored, blocking=blocking)
