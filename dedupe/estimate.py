"""Fit the model to the data at hand.

- u (how often two *different* records land on a level) is measured on random
  pairs: nearly all random pairs are non-matches, so the level frequencies among them
  are u. A shared account, city or postcode says much more among a million contacts
  than among a thousand, and this is where the model learns it.
- The prior (how likely two random records are the same entity) falls with the
  number of records: with about one duplicate per record it is 1/(n-1).

m (how often true matches land on a level) keeps its configured value: it describes
how people mistype, which does not depend on the size of the data.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from dedupe.compare import COMPARATORS, NULL
from dedupe.settings import Level, MatchSettings

RANDOM_PAIRS = 200_000
# Duplicates per record assumed by the prior; the data decide the rest.
DUPLICATES_PER_RECORD = 1.0


def random_pairs(n: int, count: int, seed: int = 360) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n, size=count)
    right = rng.integers(0, n, size=count)
    keep = left != right
    return left[keep], right[keep]


def estimate_u(
    frame: pd.DataFrame, settings: MatchSettings, pairs: int = RANDOM_PAIRS
) -> MatchSettings:
    n = len(frame)
    if n < 3:
        return settings
    left, right = random_pairs(n, min(pairs, n * (n - 1) // 2 * 4))
    fitted = []
    for comparison in settings.comparisons:
        values = frame[comparison.column].to_numpy(dtype=object)
        levels = COMPARATORS[comparison.kind](values[left], values[right])
        observed = levels[levels != NULL]
        if len(observed) < 100:
            fitted.append(comparison)
            continue
        counts = np.bincount(observed, minlength=len(comparison.levels))
        # Half a pair for a level never seen keeps its weight finite.
        u = np.maximum(counts, 0.5) / len(observed)
        new_levels = tuple(
            Level(level.name, level.m, float(min(u_value, 0.999_999)))
            for level, u_value in zip(comparison.levels, u, strict=True)
        )
        fitted.append(dataclasses.replace(comparison, levels=new_levels))
    return dataclasses.replace(settings, comparisons=tuple(fitted))


def prior_weight(n: int) -> float:
    if n < 2:
        return 0.0
    return math.log2(DUPLICATES_PER_RECORD / (n - 1))


def fit(frame: pd.DataFrame, settings: MatchSettings) -> MatchSettings:
    fitted = estimate_u(frame, settings)
    # On small data the configured prior stands; large data lower it.
    prior = min(settings.prior_weight, prior_weight(len(frame)))
    return dataclasses.replace(fitted, prior_weight=prior)


def parameters(settings: MatchSettings, records: int) -> dict:
    """The fitted parts of a model, to store and reuse."""
    return {
        "records": records,
        "prior_weight": settings.prior_weight,
        "u": {c.name: [level.u for level in c.levels] for c in settings.comparisons},
        "m": {c.name: [level.m for level in c.levels] for c in settings.comparisons},
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
    )
