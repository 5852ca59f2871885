"""Scoring takes shortcuts (a value pair compared once, equal values not compared,
group weights per combination of levels, staged swap tests); they must give what
comparing every pair plainly gives."""

import datetime as dt

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from dedupe.compare import COMPARATORS, NULL
from dedupe.estimate import fit
from dedupe.features import contact_features
from dedupe.score import (
    CodedColumns,
    group_weight,
    on_distinct,
    rule_checks,
    rule_weight,
    score_pairs,
)
from dedupe.settings import CONTACT_SETTINGS

FIRST = ["robert", "bob", "rob", "r", "ed", "ted", "teddy", "edward", "al", "albert", "anna"]
LAST = ["smith", "smyth", "schmidt", "jones", "johns", "edwards", "albert", "robert"]
DATES = [dt.date(1980, 3, 4), dt.date(1980, 4, 3), dt.date(1980, 3, 5), dt.date(1991, 3, 4)]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(values, null_share=0.1):
        chosen = np.array(values, dtype=object)[rng.integers(0, len(values), rows)]
        chosen[rng.random(rows) < null_share] = None
        return chosen

    return pd.DataFrame(
        {
            "key_first": pick(FIRST),
            "key_last": pick(LAST),
            "key_email": pick(["a@x.com", "b@x.com", "a@y.com"], 0.4),
            "mobile_phone": pick(["+14155550132", "+14155550133", "+4420794600"], 0.5),
            "phone": pick(["+14155550100", "+14155550132", "+14155550100;ext=12"], 0.2),
            "title": pick(["vp sales", "sales vp", "cfo"], 0.5),
            "birthdate": pick(DATES, 0.3),
            "key_national_id": pick(["123456", "123465", "999999"], 0.8),
            "key_street": pick(["1 king st", "12 king st", "1 king street", "9 queen rd"]),
            "key_postcode": pick(["ec1a1bb", "ec1a1bc", "94103"]),
            "mailing_city": pick(["London", "london", "Londn", "San Francisco"]),
            "account_cluster": pick([1, 2, 3], 0.1),
        }
    ).astype(object)


def _fitted_pairs(rows: int, seed: int, pairs: int):
    """A frame, the model fitted to it, and random pairs of its records."""
    frame = contact_features(_frame(rows, seed))
    left, right = np.random.default_rng(seed + 1).integers(0, rows, (2, pairs))
    return frame, fit(frame, CONTACT_SETTINGS), left, right


def _jaro(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    present = pd.notna(left) & pd.notna(right)
    out = np.zeros(len(left))
    out[present] = process.cpdist(
        left[present].tolist(),
        right[present].tolist(),
        scorer=distance.JaroWinkler.normalized_similarity,
    )
    return out


def _swapped_plainly(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    first, last = frame["key_first"].to_numpy(), frame["key_last"].to_numpy()
    fl, ll, fr, lr = first[left], last[left], first[right], last[right]
    cross_a, cross_b = _jaro(fl, lr), _jaro(ll, fr)
    low, high = np.minimum(cross_a, cross_b), np.maximum(cross_a, cross_b)
    crosswise = (low >= 0.85) | ((high >= 0.95) & (low >= 0.7))
    present = pd.notna(fl) & pd.notna(ll) & pd.notna(fr) & pd.notna(lr)
    both = present & crosswise & (cross_a + cross_b > _jaro(fl, fr) + _jaro(ll, lr) + 0.3)
    # One name in the other's field, the one beside it another.
    half = np.array(
        [
            (a is not None and a == d and a != c and (c is None or c != b))
            or (b is not None and b == c and b != d and (d is None or d != a))
            for a, b, c, d in zip(fl, ll, fr, lr, strict=True)
        ],
        dtype=bool,
    )
    return both | half


def test_levels_and_weights_match_plain_comparison_of_every_pair():
    frame, settings, left, right = _fitted_pairs(400, seed=5, pairs=20_000)
    scored = score_pairs(frame, left, right, settings)

    swapped = _swapped_plainly(frame, left, right)
    assert 0 < swapped.sum() < len(left)
    for comparison in settings.comparisons:
        values = frame[comparison.column].to_numpy(dtype=object)
        lv, rv = values[left], values[right].copy()
        if comparison.column in ("key_first", "key_last"):
            other = "key_last" if comparison.column == "key_first" else "key_first"
            rv[swapped] = frame[other].to_numpy(dtype=object)[right[swapped]]
        plain = COMPARATORS[comparison.kind](lv, rv)
        assert scored.levels[comparison.name].tolist() == plain.tolist(), comparison.name

    expected = np.full(len(left), settings.prior_weight)
    groups: dict[str, list[str]] = {}
    for comparison in settings.comparisons:
        if comparison.group:
            groups.setdefault(comparison.group, []).append(comparison.name)
        else:
            expected += scored.weights[comparison.name]
    assert groups
    for names in groups.values():
        stacked = np.vstack([scored.weights[n] for n in names])
        expected += group_weight(stacked, names, settings)
    # The match rule, where measured, weighs instead of forbidding.
    assert settings.required_any_penalty is not None
    expected += rule_weight(rule_checks(scored.levels, settings, len(left)), settings)
    np.testing.assert_allclose(scored.match_weight, expected)


def test_a_value_compared_with_itself_is_not_compared_when_its_level_is_known():
    uniques = np.array(["ann", "anne", "bob"], dtype=object)
    left = np.array([0, 0, 1, -1, 2])
    right = np.array([0, 1, 1, 2, 0])
    calls = []

    def level(a, b):
        calls.append(len(a))
        return COMPARATORS["first_name"](a, b)

    plain = on_distinct(left, right, uniques, level, NULL)
    calls.clear()
    short = on_distinct(left, right, uniques, level, NULL, same=0)
    assert short.tolist() == plain.tolist() == [0, 1, 0, NULL, 4]
    assert calls == [2]  # ann/anne and bob/ann; the equal pairs never reach the comparator


def test_scoring_shares_coded_columns_between_pieces():
    frame, settings, left, right = _fitted_pairs(300, seed=8, pairs=6000)
    whole = score_pairs(frame, left, right, settings)
    coded = CodedColumns(frame).precompute(settings)
    halves = [
        score_pairs(frame, left[s], right[s], settings, coded=coded)
        for s in (slice(0, 2500), slice(2500, None))
    ]
    joined = np.concatenate([h.match_weight for h in halves])
    np.testing.assert_allclose(joined, whole.match_weight)
