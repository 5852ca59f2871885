"""Made-up names for matching tests."""

from __future__ import annotations

import numpy as np


def made_up_names(count: int, seed: int) -> list[str]:
    """Names as varied as a CRM's, that sound like names: consonant-vowel syllables,
    all distinct, lower-case."""
    rng = np.random.default_rng(seed)
    consonants, vowels = list("bdfgklmnprstvz"), list("aeiou")
    names: set[str] = set()
    while len(names) < count:
        syllables = int(rng.integers(2, 4))
        names.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(names)
