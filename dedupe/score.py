"""Score candidate pairs: comparison levels -> match weights -> probability."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from dedupe.compare import COMPARATORS, EQUALITY_FIRST, EQUALITY_ONLY, NULL
from dedupe.settings import Comparison, MatchSettings

# In a pair's explanation: what breaking the match rule weighed, where it did.
MATCH_RULE = "match_rule"
# A value seen once in a million records still is not proof: u never drops below this.
TF_FLOOR = 1e-6


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
    # What breaking the match rule weighed on each pair, where it is measured (0: kept).
    rule_weights: np.ndarray | None = None

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
        if self.rule_weights is not None and self.rule_weights[index] != 0:
            out[MATCH_RULE] = {
                "level": "broken",
                "weight": round(float(self.rule_weights[index]), 2),
            }
        return out

    def explain_json(self, indexes: np.ndarray) -> list[str]:
        """`explain` of many pairs as JSON text: the kept pairs of a million records
        number hundreds of thousands. Each comparison's distinct (level, weight) pieces
        are formatted once; a row is then one join of ready pieces."""
        columns: list[list[str]] = []
        for comparison in self.settings.comparisons:
            name = comparison.name
            level_names = ["null", *(lvl.name for lvl in comparison.levels)]
            levels = self.levels[name][indexes].astype(np.int64) + 1
            weight_codes, weights = pd.factorize(np.round(self.weights[name][indexes], 2))
            stride = max(len(weights), 1)
            codes, pieces = pd.factorize(levels * stride + weight_codes)
            # json.dumps writes each weight as json would; one string per distinct piece.
            text = np.array(
                [
                    f'"{name}":{{"level":"{level_names[piece // stride]}",'
                    f'"weight":{json.dumps(float(weights[piece % stride]))}}}'
                    for piece in pieces
                ],
                dtype=object,
            )
            columns.append(text[codes].tolist())
        if not columns:
            return ["{}"] * len(indexes)
        rows = ["{" + ",".join(row) for row in zip(*columns, strict=True)]
        if self.rule_weights is not None:
            broken = np.round(self.rule_weights[indexes], 2)
            piece = f'"{MATCH_RULE}":{{{{"level":"broken","weight":{{}}}}}}'
            rows = [
                row if weight == 0 else f"{row},{piece.format(json.dumps(float(weight)))}"
                for row, weight in zip(rows, broken.tolist(), strict=True)
            ]
        return [row + "}" for row in rows]


class CodedColumns:
    """Columns as integer codes into shared value lists: records repeat values (first
    names, cities, the account), so candidate pairs repeat value pairs, and each
    distinct value pair is compared once. The two name columns share one list, so a
    swapped name can be looked up in the other column's codes."""

    def __init__(
        self,
        frame: pd.DataFrame,
        population: Callable[[str, np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """`population(column, values)`: each value's share of all records, when `frame`
        holds only some of them (an incremental run scores a few records' pairs, with
        the term frequencies of all)."""
        self.frame = frame
        self.population = population
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._frequencies: dict[str, np.ndarray] = {}

    def __call__(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in self._codes:
            if column in _NAME_COLUMNS and all(c in self.frame for c in _NAME_COLUMNS):
                both = np.concatenate([self.frame[c].to_numpy(dtype=object) for c in _NAME_COLUMNS])
                codes, uniques = pd.factorize(both, use_na_sentinel=True)
                n = len(self.frame)
                for index, name in enumerate(_NAME_COLUMNS):
                    self._codes[name] = (codes[index * n : (index + 1) * n], uniques)
            else:
                values = self.frame[column].to_numpy(dtype=object)
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
                self._codes[column] = (codes, np.asarray(uniques, dtype=object))
        return self._codes[column]

    def precompute(self, settings: MatchSettings) -> CodedColumns:
        """Factorise every column `settings` compares (and count the term frequencies)
        now: workers forked afterwards share the results instead of each computing them."""
        for comparison in settings.comparisons:
            self(comparison.column)
            if comparison.term_frequency:
                self.frequency(comparison.column)
                if comparison.column in _NAME_COLUMNS:
                    for other in _NAME_COLUMNS:
                        self.frequency(other)
        return self

    def frequency(self, column: str) -> np.ndarray:
        """Each value's share of the records in `column`, by code (term frequency)."""
        if column not in self._frequencies:
            codes, uniques = self(column)
            if self.population is not None:
                self._frequencies[column] = self.population(column, uniques)
            else:
                counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
                self._frequencies[column] = term_shares(counts, len(codes))
        return self._frequencies[column]


_NAME_COLUMNS = ("key_first", "key_last")


def term_shares(counts: np.ndarray, records: int) -> np.ndarray:
    """u of agreeing on a value held by `counts` of `records` records: the chance that a
    record other than this one holds it too. Counting the record itself would take a
    name two records share for one twice as common as it is (Splink counts it)."""
    return np.maximum(counts - 1, 0) / max(records - 1, 1)


def on_distinct(
    left_codes: np.ndarray,
    right_codes: np.ndarray,
    uniques: np.ndarray,
    fn,
    fill,
    same=None,
) -> np.ndarray:
    """`fn(left values, right values)` over pairs of codes, computed once per distinct
    pair of present values; `fill` where either is null (code -1). `same`, when given,
    is what `fn` gives a value and itself: pairs of one value get it without a call
    (blocking makes most candidate pairs agree on the blocked columns)."""
    present = (left_codes >= 0) & (right_codes >= 0)
    todo = present if same is None else present & (left_codes != right_codes)
    if not todo.any():
        out = np.full(len(left_codes), fill, dtype=np.result_type(fill, same))
        if same is not None:
            out[present] = same
        return out
    k = np.int64(max(len(uniques), 1))
    pairs = left_codes[todo].astype(np.int64) * k + right_codes[todo]
    inverse, distinct = pd.factorize(pairs)
    values = np.asarray(fn(uniques[distinct // k], uniques[distinct % k]))
    out = np.full(len(left_codes), fill, dtype=values.dtype)
    if same is not None:
        out[present] = same
    out[todo] = values[inverse]
    return out


def comparison_levels(
    comparison: Comparison, left_codes: np.ndarray, right_codes: np.ndarray, uniques: np.ndarray
) -> np.ndarray:
    """Each pair's level (int8) for `comparison`, from the codes of its values. Equal
    codes are equal values: an equality-only comparison needs no comparator at all, and
    the others give equal values level 0 without a call."""
    if comparison.kind in EQUALITY_ONLY:
        present = (left_codes >= 0) & (right_codes >= 0)
        return np.where(present, (left_codes != right_codes).astype(np.int8), NULL).astype(np.int8)
    same = 0 if comparison.kind in EQUALITY_FIRST else None
    return on_distinct(
        left_codes, right_codes, uniques, COMPARATORS[comparison.kind], NULL, same=same
    ).astype(np.int8)


def _jaro(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return process.cpdist(
        a.tolist(), b.tolist(), scorer=distance.JaroWinkler.normalized_similarity, workers=-1
    )


def level_weights(comparison: Comparison, levels: np.ndarray) -> np.ndarray:
    """Each pair's weight for its level of `comparison` (0 where null: no evidence)."""
    table = np.array([level.weight for level in comparison.levels] + [0.0])
    return table[np.where(levels == NULL, len(comparison.levels), levels)]


def _swap_reversed_names(coded: CodedColumns, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pairs whose right-hand first and last names are swapped, both or one of them."""
    first, uniques = coded("key_first")
    last, _ = coded("key_last")
    fl, ll, fr, lr = first[left], last[left], first[right], last[right]
    present = (fl >= 0) & (ll >= 0) & (fr >= 0) & (lr >= 0)
    out = np.zeros(len(left), dtype=bool)
    # Swapped when the names line up crosswise clearly better than straight (either may
    # carry a typo or be a nickname). Each test runs on the pairs the ones before let
    # through: nearly all candidate pairs fail the first crosswise one.
    todo = np.flatnonzero(present & ((fl != fr) | (ll != lr)))
    cross_a = on_distinct(fl[todo], lr[todo], uniques, _jaro, 0.0, same=1.0)
    keep = cross_a >= 0.7
    todo, cross_a = todo[keep], cross_a[keep]
    cross_b = on_distinct(ll[todo], fr[todo], uniques, _jaro, 0.0, same=1.0)
    low, high = np.minimum(cross_a, cross_b), np.maximum(cross_a, cross_b)
    keep = (low >= 0.85) | ((high >= 0.95) & (low >= 0.7))
    todo, cross = todo[keep], (cross_a + cross_b)[keep]
    straight_a = on_distinct(fl[todo], fr[todo], uniques, _jaro, 0.0, same=1.0)
    straight_b = on_distinct(ll[todo], lr[todo], uniques, _jaro, 0.0, same=1.0)
    out[todo] = cross > straight_a + straight_b + 0.3
    # Half swapped: one record's first name is the other's last name exactly, and the
    # name beside it another (names in the wrong fields, one of them garbled).
    half = (fl >= 0) & (lr >= 0) & (fl == lr) & (fl != fr) & ((fr < 0) | (fr != ll))
    half |= (ll >= 0) & (fr >= 0) & (ll == fr) & (ll != lr) & ((lr < 0) | (lr != fl))
    out |= half
    return out


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


def _group_weight_of(
    names: list[str],
    levels: dict[str, np.ndarray],
    weights: dict[str, np.ndarray],
    settings: MatchSettings,
) -> np.ndarray:
    """`group_weight` of every pair. Without term frequencies a comparison's weight is
    its level's, so the group's weight depends on the levels alone: it is worked out
    once per distinct combination of levels (a few hundred) and looked up."""
    comparisons = [settings.comparison(n) for n in names]
    # A level and NULL: each comparison's level is one digit of the combination.
    base = max(len(c.levels) for c in comparisons) + 1
    pairs = len(weights[names[0]])
    if any(c.term_frequency for c in comparisons) or base ** len(names) >= 2**62 or not pairs:
        return group_weight(np.vstack([weights[n] for n in names]), names, settings)
    combination = np.zeros(pairs, dtype=np.int64)
    for name in names:
        combination = combination * base + (levels[name].astype(np.int64) - NULL)
    codes, distinct = pd.factorize(combination)
    example = np.empty(len(distinct), dtype=np.int64)
    example[codes] = np.arange(len(codes))
    stacked = np.vstack([weights[n][example] for n in names])
    return group_weight(stacked, names, settings)[codes]


def _agrees(levels: dict[str, np.ndarray], settings: MatchSettings, name: str) -> np.ndarray:
    level = levels[name]
    return (level != NULL) & (level < len(settings.comparison(name).levels) - 1)


@dataclass(frozen=True)
class RuleChecks:
    """Per pair, whether it keeps each part of the match rule."""

    all_kept: np.ndarray  # no `required_all` comparison disagrees, or a waiver agrees
    any_kept: np.ndarray  # a `required_any` comparison agrees, or all are null

    @property
    def kept(self) -> np.ndarray:
        return self.all_kept & self.any_kept


def rule_checks(levels: dict[str, np.ndarray], settings: MatchSettings, pairs: int) -> RuleChecks:
    waived = np.zeros(pairs, dtype=bool)
    for name in settings.required_all_waived_by:
        waived |= _agrees(levels, settings, name)
    all_kept = np.ones(pairs, dtype=bool)
    for name in settings.required_all:
        all_kept &= (levels[name] != len(settings.comparison(name).levels) - 1) | waived
    any_kept = np.ones(pairs, dtype=bool)
    if settings.required_any:
        any_agree = np.zeros(pairs, dtype=bool)
        all_null = np.ones(pairs, dtype=bool)
        for name in settings.required_any:
            any_agree |= _agrees(levels, settings, name)
            all_null &= levels[name] == NULL
        any_kept = any_agree | all_null
    return RuleChecks(all_kept, any_kept)


def rule_weight(checks: RuleChecks, settings: MatchSettings) -> np.ndarray:
    """What breaking the match rule weighs where it is measured (0 elsewhere)."""
    out = np.zeros(len(checks.all_kept))
    if settings.required_all_penalty is not None:
        out += np.where(checks.all_kept, 0.0, settings.required_all_penalty)
    if settings.required_any_penalty is not None:
        out += np.where(checks.any_kept, 0.0, settings.required_any_penalty)
    return out


def rule_allows(checks: RuleChecks, settings: MatchSettings) -> np.ndarray:
    """Pairs the rule lets match: a part measured on the data weighs instead of forbids."""
    allowed = np.ones(len(checks.all_kept), dtype=bool)
    if settings.required_all_penalty is None:
        allowed &= checks.all_kept
    if settings.required_any_penalty is None:
        allowed &= checks.any_kept
    return allowed


def entity_codes(labels: np.ndarray) -> np.ndarray:
    """Labels (None: none) as integer codes (-1: none), which compare faster; integer
    input is taken to be codes already."""
    labels = np.asarray(labels)
    if np.issubdtype(labels.dtype, np.integer):
        return labels
    return pd.factorize(labels, use_na_sentinel=True)[0]


def score_pairs(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
    coded: CodedColumns | None = None,
    previous: np.ndarray | None = None,
) -> ScoredPairs:
    """`coded` (for `frame`) may be shared by calls that score parts of the same pairs.
    `previous` labels each record of `frame` with its entity last run (None: new), or
    is `entity_codes` of such labels: pairs that were together then keep the
    hysteresis."""
    coded = coded or CodedColumns(frame)
    swapped = None
    if all(c in frame for c in _NAME_COLUMNS) and len(left):
        swapped = _swap_reversed_names(coded, left, right)

    levels: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    for comparison in settings.comparisons:
        codes, uniques = coded(comparison.column)
        lc, rc = codes[left], codes[right]
        if swapped is not None and comparison.column in _NAME_COLUMNS:
            other = "key_last" if comparison.column == "key_first" else "key_first"
            rc = rc.copy()
            rc[swapped] = coded(other)[0][right[swapped]]
        level = comparison_levels(comparison, lc, rc, uniques)
        weight = level_weights(comparison, level)
        if comparison.term_frequency and len(left):
            exact = level == 0
            if exact.any():
                u = coded.frequency(comparison.column)[rc[exact]]
                if swapped is not None and comparison.column in _NAME_COLUMNS:
                    # Either record may be the swapped one: a swapped name is taken to be as
                    # common as it is in whichever name column holds it more often.
                    crossed = swapped[exact]
                    u[crossed] = np.fmax(u[crossed], coded.frequency(other)[rc[exact][crossed]])
                m = comparison.levels[0].m
                weight[exact] = np.log2(m / np.maximum(u, TF_FLOOR))
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
        total += _group_weight_of(names, levels, weights, settings)

    vetoed = np.zeros(len(left), dtype=bool)
    for comparison in settings.comparisons:
        if comparison.veto:
            vetoed |= levels[comparison.name] == len(comparison.levels) - 1

    checks = rule_checks(levels, settings, len(left))
    # Where measured on the data (dedupe.em), breaking the rule weighs instead of
    # forbidding: the pair may still match when everything else agrees.
    broken = rule_weight(checks, settings)
    total += broken
    meets = rule_allows(checks, settings)

    together = None
    if previous is not None:
        labels = entity_codes(previous)
        together = (labels[left] >= 0) & (labels[left] == labels[right])
    return ScoredPairs(
        left, right, levels, weights, total, vetoed, meets, settings, together, broken
    )
