"""Derived columns that blocking and comparison use."""

import numpy as np
import pandas as pd

from dedupe.features import contact_features


def test_sorted_names_agree_for_swapped_names_and_are_missing_when_a_name_is():
    rng = np.random.default_rng(5)
    names = ["anna", "smith", "zoe", "lee", "lee", None]
    first = [names[i] for i in rng.integers(0, len(names), 500)]
    last = [names[i] for i in rng.integers(0, len(names), 500)]
    frame = pd.DataFrame({"key_first": first, "key_last": last, "mailing_city": None})
    features = contact_features(frame)
    expected = [
        " ".join(sorted((f, s))) if f is not None and s is not None else None
        for f, s in zip(first, last, strict=True)
    ]
    assert features["name_sorted"].tolist() == expected
    swapped = contact_features(
        frame.rename(columns={"key_first": "key_last", "key_last": "key_first"})
    )
    assert swapped["name_sorted"].tolist() == expected
