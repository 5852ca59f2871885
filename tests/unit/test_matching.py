"""Scoring and clustering with literal records."""

import dataclasses
import json

import numpy as np
import pandas as pd

from dedupe.cluster import _greedy, cluster, components, strongest_inside
from dedupe.estimate import fit
from dedupe.features import MATCH_INPUTS, contact_features
from dedupe.in_memory import resolve
from dedupe.score import MATCH_RULE, group_weight, rule_checks, rule_weight, score_pairs
from dedupe.settings import CONTACT_SETTINGS

# Compared too, and null in every test here unless it sets them.
OPTIONAL = ("title",)
# The rows below give the matcher's other inputs, in the order it declares them.
COLUMNS = [c for c in MATCH_INPUTS["contact"] if c not in OPTIONAL]


def _contacts(rows):
    frame = pd.DataFrame([dict(zip(COLUMNS, r, strict=True)) for r in rows]).astype(object)
    return frame.assign(**dict.fromkeys(OPTIONAL))


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


def _columns(values: dict) -> pd.DataFrame:
    """Contacts with `values` and every other compared column null."""
    frame = pd.DataFrame(values).astype(object)
    for column in (*COLUMNS, *OPTIONAL):
        if column not in frame:
            frame[column] = None
    return frame


def _national_ids(records: int) -> pd.DataFrame:
    """`records` people in two orgs: each national id held by one person, twice."""
    return _columns({"key_national_id": [f"{100000 + i // 2}" for i in range(records)]})


def test_an_exact_unique_id_outweighs_the_prior_once_matches_are_out_of_u():
    # Random pairs include the true matches (about one in n-1): left in, they alone put
    # the shared id on ~m/(n-1) of the pairs, capping its weight at minus the prior.
    settings = fit(contact_features(_national_ids(4000)), CONTACT_SETTINGS)
    exact = settings.comparison("national_id").levels[0]
    # Left in: about log2(m) below zero. Out: what the 7% of matches m allows for leaves.
    assert exact.weight + settings.prior_weight > 2.0


def test_group_counts_a_second_agreement_by_what_it_adds():
    names = ["street", "postcode", "city"]
    # One pair: street and postcode agree (+12, +9), city disagrees (-3).
    stacked = np.array([[12.0], [9.0], [-3.0]])
    unmeasured = dataclasses.replace(CONTACT_SETTINGS, dependence=())
    assert group_weight(stacked, names, unmeasured).tolist() == [12.0 - 3.0]
    measured = dataclasses.replace(
        CONTACT_SETTINGS, dependence=(("street", "postcode", 4.0), ("street", "city", 20.0))
    )
    assert group_weight(stacked, names, measured).tolist() == [12.0 + 9.0 - 4.0 - 3.0]
    # Wholly explained by the other agreement: adds nothing, never takes away.
    explained = dataclasses.replace(CONTACT_SETTINGS, dependence=(("street", "postcode", 30.0),))
    assert group_weight(stacked, names, explained).tolist() == [12.0 - 3.0]


def test_dependence_is_measured_colleagues_share_postcodes_strangers_streets_do_not():
    rng = np.random.default_rng(1)
    n = 3000
    company = rng.integers(0, 300, n)
    frame = _columns(
        {
            "key_first": [f"f{i}" for i in range(n)],
            "key_last": [f"l{i}" for i in range(n)],
            # Colleagues: the account fixes the postcode.
            "account_cluster": company,
            "key_postcode": [f"P{c}" for c in company],
            # Streets drawn independently of everything else.
            "key_street": [f"{k} high st" for k in rng.integers(0, 300, n)],
        }
    )
    bits = {(a, b): v for a, b, v in fit(contact_features(frame), CONTACT_SETTINGS).dependence}
    assert bits[("account", "postcode")] > 6.0
    assert bits[("account", "street")] < 2.0


def _same_surname_at_one_office() -> pd.DataFrame:
    office = ("+442079460000", None, None, "1 king st", "EC1A1BB", "London", 7)
    return _contacts(
        [
            ("anna", "okonkwo", "a.okonkwo@acme.com", None, *office),
            # A colleague with the same rare surname: same account, phone and address.
            ("peter", "okonkwo", None, None, *office),
            # Another first name on record, but the same personal e-mail address.
            ("xenia", "okonkwo", "a.okonkwo@acme.com", None, *office),
        ]
    )


def test_a_plainly_different_first_name_rules_a_match_out_unless_the_person_agrees():
    scored = resolve(_same_surname_at_one_office(), CONTACT_SETTINGS).scored
    meets = {
        (int(a), int(b)): bool(m)
        for a, b, m in zip(scored.left, scored.right, scored.meets_requirements, strict=True)
    }
    assert meets[(0, 1)] is False and meets[(1, 2)] is False
    assert meets[(0, 2)] is True


def test_explanations_in_bulk_are_the_per_pair_ones():
    scored = resolve(_same_surname_at_one_office(), CONTACT_SETTINGS).scored
    indexes = np.arange(len(scored.left))
    bulk = [json.loads(text) for text in scored.explain_json(indexes)]
    assert bulk == [scored.explain(int(i)) for i in indexes]
    assert list(bulk[0]) == [c.name for c in CONTACT_SETTINGS.comparisons]


def test_a_measured_match_rule_weighs_in_the_explanation_where_a_pair_breaks_it():
    frame = contact_features(_same_surname_at_one_office())
    measured = dataclasses.replace(
        fit(frame, CONTACT_SETTINGS), required_all_penalty=-6.5, required_any_penalty=-9.0
    )
    pairs = np.array([0, 0, 1]), np.array([1, 2, 2])
    scored = score_pairs(frame, *pairs, measured)
    bulk = [json.loads(text) for text in scored.explain_json(np.arange(3))]
    assert bulk == [scored.explain(i) for i in range(3)]
    broken = [b.get(MATCH_RULE, {}).get("weight", 0.0) for b in bulk]
    assert broken == [
        round(float(w), 2) for w in rule_weight(rule_checks(scored.levels, measured, 3), measured)
    ]
    assert any(w < 0 for w in broken)
    # A pair that breaks the rule is not forbidden once the rule is measured.
    assert scored.meets_requirements.all()


def test_clustering_by_contested_groups_equals_the_greedy_merge_over_everything():
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = 300
        left, right = rng.integers(0, n, 400), rng.integers(0, n, 400)
        keep = left != right
        left, right = left[keep], right[keep]
        weight = rng.normal(8, 3, len(left)).round(1)  # ties included
        cannot = rng.integers(0, n, (2, 60))
        must = rng.integers(0, n, (2, 5))
        fast = cluster(n, left, right, weight, cannot[0], cannot[1], must[0], must[1])
        slow = _greedy(n, (left, right, weight), (cannot[0], cannot[1]), (must[0], must[1]))
        assert np.array_equal(fast, slow)


def test_components_label_each_group_by_its_smallest_node():
    labels = components(7, np.array([4, 1, 6]), np.array([1, 2, 5]))
    assert labels.tolist() == [0, 1, 1, 3, 1, 5, 5]


def test_each_record_gets_its_strongest_pair_inside_its_own_cluster():
    labels = np.array([0, 0, 0, 3, 3, 5])
    left, right = np.array([0, 1, 0, 3]), np.array([1, 2, 3, 4])
    weight = np.array([5.0, 7.0, 9.0, 2.0])  # 0-3 crosses clusters: not counted
    strongest = strongest_inside(labels, left, right, weight)
    np.testing.assert_array_equal(strongest, [5.0, 7.0, 7.0, 2.0, 2.0, np.nan])


def test_a_first_name_in_the_last_name_field_is_compared_where_it_belongs():
    # Febrl4's rec-1339: the given name typed as the surname, the other name garbled.
    frame = contact_features(
        _contacts(
            [
                ("james", "coleman", None, None, None, None, None, None, None, None, None),
                ("howie", "james", None, None, None, None, None, None, None, None, None),
                ("james", "howie", None, None, None, None, None, None, None, None, None),
            ]
        )
    )
    scored = score_pairs(frame, np.array([0, 1]), np.array([1, 2]), CONTACT_SETTINGS)
    first = CONTACT_SETTINGS.comparison("first_name").levels
    last = CONTACT_SETTINGS.comparison("last_name").levels
    # james/coleman against howie/james: first names agree once the second is swapped.
    assert first[scored.levels["first_name"][0]].name == "exact"
    assert last[scored.levels["last_name"][0]].name == "different"
    # A whole swap stays a whole swap.
    assert scored.levels["first_name"][1] == 0 and scored.levels["last_name"][1] == 0
