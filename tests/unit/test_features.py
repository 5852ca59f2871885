"""Derived columns that blocking and comparison use."""

import numpy as np
import pandas as pd

from dedupe.features import FEATURES, MATCH_INPUTS, contact_features
from dedupe.settings import DEFAULT_SETTINGS


def test_sorted_names_agree_for_swapped_names_and_are_missing_when_a_name_is():
    rng = np.random.default_rng(5)
    names = ["anna", "smith", "zoe", "lee", "lee", None]
    first = [names[i] for i in rng.integers(0, len(names), 500)]
    last = [names[i] for i in rng.integers(0, len(names), 500)]
    frame = pd.DataFrame({"key_first": first, "key_last": last}).assign(
        mailing_city=None, phone=None, key_email=None, title=None
    )
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


def test_a_number_with_an_extension_is_a_direct_line_and_a_personal_mailbox_has_a_local_part():
    frame = pd.DataFrame(
        {
            "key_first": ["samuel", "sam", None],
            "key_last": ["kennedy", "ke", None],
            "phone": ["+12245550120;ext=6422", "+12245550120", None],
            "key_email": ["logan776212@proton.me", "sam.ke@acme.com", None],
            "title": ["VP, Sales", None, None],
        }
    ).assign(mailing_city=None)
    features = contact_features(frame)
    assert features["phone_main"].tolist() == ["+12245550120", "+12245550120", None]
    assert features["phone_direct"].tolist() == ["+12245550120;ext=6422", None, None]
    assert features["email_local"].tolist() == ["logan776212", "sam.ke", None]
    assert features["key_title"].tolist() == ["vp sales", None, None]
    assert features["first_prefix"].tolist() == ["sa", "sa", None]
    assert features["last_prefix"].tolist() == ["ke", "ke", None]


def test_the_declared_match_inputs_are_all_the_matcher_reads():
    for obj, settings in DEFAULT_SETTINGS.items():
        frame = pd.DataFrame({column: [None, None] for column in MATCH_INPUTS[obj]})
        features = FEATURES[obj](frame)
        needed = {c.column for c in settings.comparisons}
        needed |= {column for rule in settings.blocking_rules for column in rule}
        assert needed <= set(features.columns), (obj, needed - set(features.columns))
