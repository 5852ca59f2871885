"""Scoring and clustering with literal records."""

import numpy as np
import pandas as pd

from dedupe.cluster import cluster
from dedupe.resolve import resolve
from dedupe.settings import CONTACT_SETTINGS

COLUMNS = [
    "key_first",
    "key_last",
    "key_email",
    "mobile_phone",
    "phone",
    "birthdate",
    "key_national_id",
    "key_street",
    "key_postcode",
    "mailing_city",
    "account_cluster",
]


def _contacts(rows):
    return pd.DataFrame([dict(zip(COLUMNS, r, strict=True)) for r in rows]).astype(object)


def test_colleagues_sharing_switchboard_address_and_account_stay_apart():
    office = ("+442079460000", "1 king st", "EC1A1BB", "London", 7)
    frame = _contacts(
        [
            ("anna", "smith", None, None, *office[:1], None, None, *office[1:]),
            ("peter", "smith", None, None, *office[:1], None, None, *office[1:]),
            ("maria", "jones", None, None, *office[:1], None, None, *office[1:]),
        ]
    )
    result = resolve(frame, CONTACT_SETTINGS)
    assert len(set(result.labels)) == 3


def test_same_person_across_orgs_with_nickname_and_typo_merges():
    frame = _contacts(
        [
            (
                "robert",
                "johnson",
                "robert.johnson@acme.com",
                None,
                None,
                None,
                None,
                "5 main st",
                "10001",
                "New York",
                1,
            ),
            (
                "bob",
                "jonhson",
                "robert.johnson@acme.com",
                None,
                None,
                None,
                None,
                None,
                None,
                "New York",
                1,
            ),
            ("robert", "johnson", None, None, None, None, None, None, None, "Paris", 9),
        ]
    )
    result = resolve(frame, CONTACT_SETTINGS)
    assert result.labels[0] == result.labels[1]
    assert result.labels[2] != result.labels[0]
    explanation = result.scored.explain(0)
    assert explanation["email"]["level"] == "exact" and explanation["email"]["weight"] > 10


def test_cannot_link_is_transitive_and_stops_chaining():
    # 0-1 and 1-2 match strongly, but 0 and 2 are known to differ: 1 joins one of them only.
    labels = cluster(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([10.0, 9.0]),
        cannot_left=[0],
        cannot_right=[2],
    )
    assert labels[0] == labels[1] != labels[2]


def test_must_link_merges_and_cannot_link_wins_over_weak_matches():
    labels = cluster(
        4, np.array([2]), np.array([3]), np.array([6.0]), must_left=[0], must_right=[1]
    )
    assert labels.tolist() == [0, 0, 2, 2]
