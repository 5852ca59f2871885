import dataclasses

import numpy as np

from dedupe.em import estimate_m
from dedupe.score import ScoredPairs
from dedupe.settings import CONTACT_SETTINGS


def test_em_learns_m_for_personal_fields_and_leaves_workplace_evidence_alone():
    rng = np.random.default_rng(1)
    n = 4000
    matches = rng.random(n) < 0.3
    levels = {}
    for comparison in CONTACT_SETTINGS.comparisons:
        last = len(comparison.levels) - 1
        # True matches agree exactly 60% of the time here (configured m says ~80%);
        # non-matches disagree.
        agree = matches & (rng.random(n) < 0.6)
        levels[comparison.name] = np.where(agree, 0, last).astype(np.int8)
    zeros = np.zeros(n)
    scored = ScoredPairs(
        left=np.arange(n),
        right=np.arange(n) + n,
        levels=levels,
        weights={name: zeros for name in levels},
        match_weight=np.where(matches, 10.0, -10.0),
        vetoed=np.zeros(n, dtype=bool),
        meets_requirements=np.ones(n, dtype=bool),
        settings=CONTACT_SETTINGS,
    )
    learnt = estimate_m(scored, dataclasses.replace(CONTACT_SETTINGS, learn_m=True))
    email = learnt.comparison("email").levels[0].m
    assert 0.5 < email < CONTACT_SETTINGS.comparison("email").levels[0].m
    for name in ("account", "phone", "street", "postcode", "city"):
        assert learnt.comparison(name) == CONTACT_SETTINGS.comparison(name)
    for comparison in learnt.comparisons:
        assert abs(sum(level.m for level in comparison.levels) - 1) < 1e-6
