"""Expectation–maximisation of m (how often true matches land on each level).

u comes from random pairs (`dedupe.estimate`); m is learnt here from the candidate
pairs blocking produced, the classic Fellegi–Sunter EM: given the current model,
each pair's match probability; given those, the share of the expected matches on
each level. Two guards keep it honest:

- comparisons in a `group` (workplace evidence: account, switchboard phone, office
  address) keep their configured m. Learnt blindly, they would say "colleagues are
  the same person", since colleagues dominate the candidate pairs of any CRM;
- every learnt m is pulled towards its configured value by `PSEUDO_COUNT` pseudo
  pairs, so a level seen on a handful of pairs cannot swing the model.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dedupe.compare import NULL
from dedupe.score import ScoredPairs
from dedupe.settings import Level, MatchSettings

ITERATIONS = 10
PSEUDO_COUNT = 50.0
_M_FLOOR = 1e-4


def _probabilities(scored: ScoredPairs, settings: MatchSettings, prior: float) -> np.ndarray:
    # Workplace evidence stays out of the E step too: with it, the "match" class EM
    # finds is "works at the same company".
    total = np.full(len(scored.left), prior, dtype=np.float64)
    for comparison in settings.comparisons:
        if comparison.group is not None:
            continue
        levels = scored.levels[comparison.name]
        weights = np.array([lvl.weight for lvl in comparison.levels] + [0.0])
        total += weights[np.where(levels == NULL, len(comparison.levels), levels)]
    return 1.0 / (1.0 + np.exp2(-total))


def estimate_m(scored: ScoredPairs, settings: MatchSettings) -> MatchSettings:
    """`settings` with m learnt from the candidate pairs in `scored` (levels already set)."""
    if len(scored.left) < 1000:
        return settings
    # The share of candidate pairs that match, learnt alongside m; start from the
    # fraction the current model already calls matches.
    share = float(np.clip(scored.is_match.mean(), 0.001, 0.5))
    current = settings
    for _ in range(ITERATIONS):
        prior = float(np.log2(share / (1 - share)))
        p = _probabilities(scored, current, prior)
        share = float(np.clip(p.mean(), 1e-4, 0.9))
        learnt = []
        for comparison in current.comparisons:
            if comparison.group is not None:
                learnt.append(comparison)
                continue
            levels = scored.levels[comparison.name]
            seen = levels != NULL
            expected = np.bincount(levels[seen], weights=p[seen], minlength=len(comparison.levels))
            configured = np.array([lvl.m for lvl in settings.comparison(comparison.name).levels])
            m = (expected + PSEUDO_COUNT * configured) / (expected.sum() + PSEUDO_COUNT)
            m = np.maximum(m, _M_FLOOR)
            m = m / m.sum()
            learnt.append(
                dataclasses.replace(
                    comparison,
                    levels=tuple(
                        Level(lvl.name, float(m_value), lvl.u)
                        for lvl, m_value in zip(comparison.levels, m, strict=True)
                    ),
                )
            )
        current = dataclasses.replace(current, comparisons=tuple(learnt))
    return current
