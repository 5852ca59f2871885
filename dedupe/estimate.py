"""Fit the model to the data at hand.

- u (how often two *different* records land on a level) is measured on random
  pairs: nearly all random pairs are non-matches, so the level frequencies among them
  are u. A shared account, city or postcode says much more among a million contacts
  than among a thousand, and this is where the model learns it.
- The prior (how likely two random records are the same entity) falls with the
  number of records: until EM measures it, about one duplicate per record, 1/(n-1).

- m (how often true matches land on a level) and the prior are learnt from the
  candidate pairs by EM (`dedupe.em`) when the settings ask (`learn_m`): how people
  mistype, and how many duplicates there are, is a property of each installation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dedupe import em
from dedupe.compare import EQUALITY_FIRST, NULL
from dedupe.score import CodedColumns, comparison_levels, level_weights, rule_checks
from dedupe.settings import Comparison, Level, MatchSettings

RANDOM_PAIRS = 200_000
# Duplicates per record assumed by the prior; the data decide the rest.
DUPLICATES_PER_RECORD = 1.0


def random_pairs(n: int, count: int, seed: int = 360) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n, size=count)
    right = rng.integers(0, n, size=count)
    keep = left != right
    return left[keep], right[keep]


@dataclass(frozen=True)
class RandomPairs:
    """Each comparison's levels on random pairs of records (nearly all non-matches),
    and the exact share of equal values for comparisons whose first level is equality."""

    levels: dict[str, np.ndarray]
    equal_share: dict[str, float]


def random_levels(
    frame: pd.DataFrame, settings: MatchSettings, coded: CodedColumns, pairs: int = RANDOM_PAIRS
) -> RandomPairs:
    n = len(frame)
    left, right = random_pairs(n, min(pairs, n * (n - 1) // 2 * 4))
    levels, equal = {}, {}
    for comparison in settings.comparisons:
        codes, uniques = coded(comparison.column)
        levels[comparison.name] = comparison_levels(
            comparison, codes[left], codes[right], uniques
        ).astype(np.int64)
        if comparison.kind in EQUALITY_FIRST:
            # Counted over all pairs, not sampled: a level this rare is seen on a few dozen
            # sampled pairs at most, too few to tell its matches from its non-matches.
            equal[comparison.name] = _equal_share(codes)
    return RandomPairs(levels, equal)


def estimate_u(
    frame: pd.DataFrame,
    settings: MatchSettings,
    pairs: int = RANDOM_PAIRS,
    match_share: float = 0.0,
    coded: CodedColumns | None = None,
    sample: RandomPairs | None = None,
) -> MatchSettings:
    """u for every level, and the dependence within groups, from random pairs; about
    `match_share` of those pairs are true matches, and their share is taken out.
    `coded` (for `frame`) shares its factorised columns with the scoring that follows;
    `sample` (of `frame`) saves drawing and comparing the random pairs again."""
    if len(frame) < 3:
        return settings
    coded = coded or CodedColumns(frame)
    sample = sample or random_levels(frame, settings, coded, pairs)
    fitted = []
    for comparison in settings.comparisons:
        levels = sample.levels[comparison.name]
        observed = levels[levels != NULL]
        if len(observed) < 100:
            fitted.append(comparison)
            continue
        counts = np.bincount(observed, minlength=len(comparison.levels)).astype(np.float64)
        if comparison.name in sample.equal_share:
            counts[0] = sample.equal_share[comparison.name] * len(observed)
        counts = _without_matches(counts, comparison, match_share)
        # Half a pair for a level never seen keeps its weight finite.
        u = np.maximum(counts, 0.5) / len(observed)
        new_levels = tuple(
            Level(level.name, level.m, float(min(u_value, 0.999_999)))
            for level, u_value in zip(comparison.levels, u, strict=True)
        )
        fitted.append(dataclasses.replace(comparison, levels=new_levels))
    fitted_settings = dataclasses.replace(settings, comparisons=tuple(fitted))
    dependence = group_dependence(fitted_settings, sample.levels)
    return dataclasses.replace(fitted_settings, dependence=dependence)


def _agrees(comparison: Comparison, levels: np.ndarray, strict: bool) -> np.ndarray:
    """On the strongest level only (`strict`), or on any level short of disagreement."""
    if strict:
        return levels == 0
    return (levels != NULL) & (levels < len(comparison.levels) - 1)


def group_dependence(
    settings: MatchSettings, sampled: dict[str, np.ndarray]
) -> tuple[tuple[str, str, float], ...]:
    """How much two comparisons of a group agree together among non-matches beyond chance,
    in bits (pointwise mutual information of their agreements), for every pair of them.

    Colleagues share the account, the switchboard and the office postcode: among random
    pairs, one of these agreeing makes the others far likelier, and a second agreement
    says little more. A person's street and city are another matter: two strangers on
    one street rarely share its postcode by accident too. Measured, not assumed.
    """
    non_matches = _ungrouped_evidence(settings, sampled) <= 0
    out = []
    grouped = [c for c in settings.comparisons if c.group]
    for index, a in enumerate(grouped):
        for b in grouped[index + 1 :]:
            if a.group != b.group:
                continue
            bits = _pointwise_mutual_information(a, b, sampled, non_matches)
            if bits is not None:
                out.append((a.name, b.name, bits))
    return tuple(out)


def _ungrouped_evidence(settings: MatchSettings, sampled: dict[str, np.ndarray]) -> np.ndarray:
    """Per sampled pair, the weight of the comparisons outside any group.

    The few true matches among random pairs agree on nearly everything, so they would
    pass for dependence within a group (a shared street and postcode). Those the other
    comparisons (names, dates, ids) do not speak against are left out of the measure:
    the model assumes groups and the rest independent given the match status anyway."""
    total = np.zeros(len(next(iter(sampled.values()))))
    for comparison in settings.comparisons:
        if comparison.group:
            continue
        levels = sampled[comparison.name]
        total += level_weights(comparison, levels)
    return total


def _pointwise_mutual_information(
    a: Comparison, b: Comparison, sampled: dict[str, np.ndarray], non_matches: np.ndarray
) -> float | None:
    """Measured twice, on the strongest levels and on any agreement (the same street says
    more about the city than a similar one); the larger figure is kept, so correlated
    evidence is never counted twice."""
    levels_a, levels_b = sampled[a.name], sampled[b.name]
    both_present = (levels_a != NULL) & (levels_b != NULL) & non_matches
    present = int(both_present.sum())
    if present < 100:
        return None
    bits = 0.0
    for strict in (True, False):
        agree_a = _agrees(a, levels_a, strict) & both_present
        agree_b = _agrees(b, levels_b, strict) & both_present
        # Half a pair where none was seen: what the sample cannot tell apart from chance.
        only_a, only_b = max(agree_a.sum(), 0.5), max(agree_b.sum(), 0.5)
        together = max((agree_a & agree_b).sum(), 0.5)
        bits = max(bits, float(np.log2(together * present / (only_a * only_b))))
    return bits


def _equal_share(codes: np.ndarray) -> float:
    """The share of pairs of non-null values (factorised: -1 is null) that are equal,
    over all pairs, exactly."""
    counts = np.bincount(codes[codes >= 0]).astype(np.float64)
    present = counts.sum()
    if present < 2:
        return 0.0
    return float((counts * (counts - 1)).sum() / (present * (present - 1)))


def _without_matches(counts: np.ndarray, comparison: Comparison, match_share: float) -> np.ndarray:
    """Level counts of random pairs less the true matches expected among them.

    Random pairs are nearly all non-matches, but not all: a level only a match reaches
    (the same national id) is seen on about `match_share * m` of them, which would make
    its u that high and cap its weight at minus the prior. An exact unique identifier
    could then never outweigh a single disagreement."""
    expected = match_share * counts.sum() * np.array([level.m for level in comparison.levels])
    return np.maximum(counts - expected, 0.0)


def prior_weight(n: int) -> float:
    if n < 2:
        return 0.0
    return math.log2(DUPLICATES_PER_RECORD / (n - 1))


def fit(
    frame: pd.DataFrame, settings: MatchSettings, coded: CodedColumns | None = None
) -> MatchSettings:
    """u from random pairs; with `learn_m`, m and the prior from the candidate pairs
    (`dedupe.em`), then u again with the true matches that prior expects among the
    random pairs taken out."""
    coded = coded or CodedColumns(frame)
    # Until the data say otherwise: about one duplicate per record, at most the
    # configured prior.
    prior = min(settings.prior_weight, prior_weight(len(frame)))
    if len(frame) < 3:
        return dataclasses.replace(settings, prior_weight=prior)
    sample = random_levels(frame, settings, coded)
    fitted = estimate_u(frame, settings, match_share=_share(prior), coded=coded, sample=sample)
    if settings.learn_m:
        training = em.training_pairs(frame, fitted, coded)
        if training is not None:
            broken_u = _breaking_share(sample, fitted)
            learnt = em.learn_m(training, fitted, broken_u)
            if learnt.matches is not None:
                prior = learnt_prior(learnt.matches, len(frame))
            fitted = estimate_u(
                frame, learnt.settings, match_share=_share(prior), coded=coded, sample=sample
            )
    return dataclasses.replace(fitted, prior_weight=prior)


def _breaking_share(sample: RandomPairs, settings: MatchSettings) -> dict[str, float]:
    """Per part of the match rule, the share of random pairs that break it."""
    pairs = len(next(iter(sample.levels.values())))
    checks = rule_checks(sample.levels, settings, pairs)
    floor = 1.0 / max(pairs, 1)
    shares = {
        "all": max(float((~checks.all_kept).mean()), floor),
        "any": max(float((~checks.any_kept).mean()), floor),
    }
    return {part: shares[part] for part in em.rule_parts(settings)}


def learnt_prior(matches: float, records: int) -> float:
    """log2 odds that two random records match, from the matches EM expects (at least
    one, so a data set without duplicates keeps a finite prior)."""
    pairs = records * (records - 1) / 2
    matches = min(max(matches, 1.0), pairs / 2)
    return math.log2(matches / (pairs - matches))


def _share(prior: float) -> float:
    """The probability that a random pair matches, from the prior's log2 odds."""
    return 1.0 / (1.0 + 2.0**-prior)


# Bumped whenever what `fit` measures changes: a model stored by an older version is
# fitted again rather than reused without the new measurements.
MODEL_VERSION = 3


def parameters(settings: MatchSettings, records: int) -> dict:
    """The fitted parts of a model, to store and reuse."""
    return {
        "version": MODEL_VERSION,
        "records": records,
        "prior_weight": settings.prior_weight,
        "u": {c.name: [level.u for level in c.levels] for c in settings.comparisons},
        "m": {c.name: [level.m for level in c.levels] for c in settings.comparisons},
        "dependence": [list(triple) for triple in settings.dependence],
        "required_all_penalty": settings.required_all_penalty,
        "required_any_penalty": settings.required_any_penalty,
    }


def with_parameters(settings: MatchSettings, params: dict) -> MatchSettings:
    """`settings` with stored m and u values and prior (unknown levels keep theirs)."""
    comparisons = []
    for comparison in settings.comparisons:
        stored = params.get("u", {}).get(comparison.name)
        if stored is None or len(stored) != len(comparison.levels):
            comparisons.append(comparison)
            continue
        stored_m = params.get("m", {}).get(comparison.name)
        if stored_m is None or len(stored_m) != len(comparison.levels):
            stored_m = [level.m for level in comparison.levels]
        levels = tuple(
            Level(level.name, float(m), float(u))
            for level, m, u in zip(comparison.levels, stored_m, stored, strict=True)
        )
        comparisons.append(dataclasses.replace(comparison, levels=levels))
    return dataclasses.replace(
        settings,
        comparisons=tuple(comparisons),
        prior_weight=float(params.get("prior_weight", settings.prior_weight)),
        # Parameters stored before dependence was measured: groups count as before.
        dependence=tuple((a, b, float(bits)) for a, b, bits in params.get("dependence", ())),
        required_all_penalty=params.get("required_all_penalty", settings.required_all_penalty),
        required_any_penalty=params.get("required_any_penalty", settings.required_any_penalty),
    )
