"""Score candidate pairs: comparison levels -> match weights -> probability."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from dedupe.compare import COMPARATORS, NULL
from dedupe.settings import MatchSettings

# A value seen once in a million records still is not proof: u never drops below this.
_TF_FLOOR = 1e-6


@dataclass
class ScoredPairs:
    """Scores for candidate pairs; `left`/`right` are positions in the scored frame."""

    left: np.ndarray
    right: np.ndarray
    levels: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    match_weight: np.ndarray
    vetoed: np.ndarray
    meets_requirements: np.ndarray
    settings: MatchSettings
    # Pairs whose records were in one cluster last time: they stay together unless the
    # evidence falls clearly below the threshold (hysteresis keeps reruns stable).
    previously_together: np.ndarray | None = None

    @property
    def probability(self) -> np.ndarray:
        return 1.0 / (1.0 + np.exp2(-self.match_weight))

    @property
    def threshold(self) -> np.ndarray | float:
        s = self.settings
        if self.previously_together is None:
            return s.match_weight
        return np.where(self.previously_together, s.match_weight - s.hysteresis, s.match_weight)

    @property
    def is_match(self) -> np.ndarray:
        return (self.match_weight >= self.threshold) & ~self.vetoed & self.meets_requirements

    @property
    def is_review(self) -> np.ndarray:
        s = self.settings
        in_band = self.match_weight >= s.review_weight
        return in_band & ~self.is_match & ~self.vetoed

    @property
    def is_cannot_link(self) -> np.ndarray:
        return self.vetoed | (self.match_weight < self.settings.cannot_link_weight)

    def explain(self, index: int) -> dict[str, dict[str, object]]:
        """Per-comparison level and weight of one pair, for stewards."""
        out: dict[str, dict[str, object]] = {}
        for comparison in self.settings.comparisons:
            level = int(self.levels[comparison.name][index])
            out[comparison.name] = {
                "level": "null" if level == NULL else comparison.levels[level].name,
                "weight": round(float(self.weights[comparison.name][index]), 2),
            }
        return out

    def explain_json(self, indexes: np.ndarray) -> list[str]:
        return [json.dumps(self.explain(int(i)), separators=(",", ":")) for i in indexes]


def _swap_reversed_names(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Right-hand first/last names of pairs whose names are swapped, swapped back."""
    first = frame["key_first"].to_numpy(dtype=object)
    last = frame["key_last"].to_numpy(dtype=object)
    # Swapped when the names line up crosswise clearly better than straight (either may
    # carry a typo or be a nickname).
    present = (
        pd.notna(first[left])
        & pd.notna(last[left])
        & pd.notna(first[right])
        & pd.notna(last[right])
    )
    swapped = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(present)
    if len(todo):
        fl, ll = first[left[todo]].tolist(), last[left[todo]].tolist()
        fr, lr = first[right[todo]].tolist(), last[right[todo]].tolist()
        jw = distance.JaroWinkler.normalized_similarity
        cross_a = process.cpdist(fl, lr, scorer=jw, workers=-1)
        cross_b = process.cpdist(ll, fr, scorer=jw, workers=-1)
        straight_a = process.cpdist(fl, fr, scorer=jw, workers=-1)
        straight_b = process.cpdist(ll, lr, scorer=jw, workers=-1)
        low, high = np.minimum(cross_a, cross_b), np.maximum(cross_a, cross_b)
        crosswise = (low >= 0.85) | ((high >= 0.95) & (low >= 0.7))
        swapped[todo] = crosswise & (cross_a + cross_b > straight_a + straight_b + 0.3)
    return swapped


def _term_frequencies(values: pd.Series) -> pd.Series:
    counts = values.value_counts(dropna=True)
    return counts / max(len(values), 1)


def _dependence_matrix(names: list[str], settings: MatchSettings) -> np.ndarray:
    """Bits of dependence between the group's comparisons; unmeasured: wholly dependent."""
    index = {name: i for i, name in enumerate(names)}
    bits = np.full((len(names), len(names)), np.inf)
    for a, b, value in settings.dependence:
        if a in index and b in index:
            bits[index[a], index[b]] = bits[index[b], index[a]] = value
    return bits


def group_weight(stacked: np.ndarray, names: list[str], settings: MatchSettings) -> np.ndarray:
    """What one group's comparisons (rows of `stacked`, weights per pair) add together.

    The strongest agreement counts in full. Each further agreement counts its weight
    less its dependence on the most dependent other agreement in the group, never less
    than nothing: a postcode adds nothing to a shared account (colleagues), nearly all
    of itself to a shared street (strangers seldom share both). Every disagreement
    counts against (same city, another street).
    """
    agree = stacked > 0
    positive = np.where(agree, stacked, 0.0)
    strongest = positive.argmax(axis=0)
    bits = _dependence_matrix(names, settings)
    counted = np.zeros(stacked.shape[1])
    for row in range(len(names)):
        others = np.delete(np.arange(len(names)), row)
        # Per pair: the largest dependence on another agreeing comparison (0 if none).
        explained = np.where(agree[others], bits[row, others][:, None], 0.0).max(
            axis=0, initial=0.0
        )
        extra = np.clip(positive[row] - explained, 0.0, None)
        counted += np.where(strongest == row, positive[row], extra)
    return counted + np.clip(stacked, None, 0).sum(axis=0)


def score_pairs(
    frame: pd.DataFrame, left: np.ndarray, right: np.ndarray, settings: MatchSettings
) -> ScoredPairs:
    swapped = None
    if "key_first" in frame and "key_last" in frame and len(left):
        swapped = _swap_reversed_names(frame, left, right)

    levels: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    for comparison in settings.comparisons:
        values = frame[comparison.column].to_numpy(dtype=object)
        lv, rv = values[left], values[right]
        if swapped is not None and comparison.column in ("key_first", "key_last"):
            other = "key_last" if comparison.column == "key_first" else "key_first"
            rv = rv.copy()
            rv[swapped] = frame[other].to_numpy(dtype=object)[right[swapped]]
        level = COMPARATORS[comparison.kind](lv, rv)
        table = np.array([lvl.weight for lvl in comparison.levels] + [0.0])
        weight = table[np.where(level == NULL, len(comparison.levels), level)]
        if comparison.term_frequency and len(left):
            freq = _term_frequencies(frame[comparison.column])
            exact = level == 0
            if exact.any():
                u = pd.Series(rv[exact]).map(freq).to_numpy(dtype=float, copy=True)
                if swapped is not None and comparison.column in ("key_first", "key_last"):
                    # Either record may be the swapped one: a swapped name is taken to be as
                    # common as it is in whichever name column holds it more often.
                    other_freq = _term_frequencies(frame[other])
                    crossed = swapped[exact]
                    values = pd.Series(rv[exact][crossed])
                    u[crossed] = np.fmax(
                        values.map(freq).to_numpy(float), values.map(other_freq).to_numpy(float)
                    )
                u = np.nan_to_num(u, nan=_TF_FLOOR)
                m = comparison.levels[0].m
                weight[exact] = np.log2(m / np.maximum(u, _TF_FLOOR))
        levels[comparison.name] = level
        weights[comparison.name] = weight

    total = np.full(len(left), settings.prior_weight, dtype=np.float64)
    groups: dict[str, list[str]] = {}
    for comparison in settings.comparisons:
        if comparison.group:
            groups.setdefault(comparison.group, []).append(comparison.name)
        else:
            total += weights[comparison.name]
    for names in groups.values():
        total += group_weight(np.vstack([weights[n] for n in names]), names, settings)

    vetoed = np.zeros(len(left), dtype=bool)
    for comparison in settings.comparisons:
        if comparison.veto:
            vetoed |= levels[comparison.name] == len(comparison.levels) - 1

    meets = np.ones(len(left), dtype=bool)
    for name in settings.required_all:
        comparison = settings.comparison(name)
        meets &= levels[name] != len(comparison.levels) - 1
    if settings.required_any:
        any_agree = np.zeros(len(left), dtype=bool)
        all_null = np.ones(len(left), dtype=bool)
        for name in settings.required_any:
            comparison = settings.comparison(name)
            lvl = levels[name]
            any_agree |= (lvl != NULL) & (lvl < len(comparison.levels) - 1)
            all_null &= lvl == NULL
        meets &= any_agree | all_null

    return ScoredPairs(left, right, levels, weights, total, vetoed, meets, settings)
