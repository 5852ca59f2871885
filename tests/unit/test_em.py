"""Learning m, the prior and the match rule's strength from the data (dedupe.em)."""

import dataclasses
import datetime

import numpy as np
import pandas as pd

from dedupe import em
from dedupe.estimate import fit, learnt_prior
from dedupe.evaluate import score_clusters
from dedupe.features import FEATURES
from dedupe.in_memory import resolve
from dedupe.settings import CONTACT_SETTINGS, Level
from tests.helpers.names import made_up_names

FIRST = made_up_names(300, 1)
LAST = made_up_names(2000, 2)


def _typo(rng: np.random.Generator, text: str) -> str:
    i = int(rng.integers(1, len(text) - 1))
    return text[:i] + text[i + 1 :]


def _people(
    n: int,
    duplicates: int,
    name_typo: float,
    date_typo: float,
    renamed: float = 0.0,
    seed: int = 1,
) -> pd.DataFrame:
    """`n` people with a home address and birth date, and `duplicates` copies of some
    of them: each copy's names mistyped with chance `name_typo`, its birth date's day
    moved with chance `date_typo`, both names replaced with chance `renamed`."""
    rng = np.random.default_rng(seed)
    rows = []
    for person in range(n):
        rows.append(
            {
                "entity": person,
                "key_first": FIRST[rng.integers(len(FIRST))],
                "key_last": LAST[rng.integers(len(LAST))],
                "birthdate": datetime.date(1940, 1, 1)
                + datetime.timedelta(days=int(rng.integers(0, 20000))),
                "key_street": f"{rng.integers(1, 200)} street{rng.integers(0, 3000)}",
                "key_postcode": f"{rng.integers(1000, 9999)}",
                "mailing_city": f"city{rng.integers(0, 400)}",
            }
        )
    for person in rng.choice(n, size=duplicates, replace=False):
        copy = dict(rows[person])
        if rng.random() < renamed:
            copy["key_first"] = FIRST[rng.integers(len(FIRST))]
            copy["key_last"] = LAST[rng.integers(len(LAST))]
        else:
            for column in ("key_first", "key_last"):
                if rng.random() < name_typo:
                    copy[column] = _typo(rng, copy[column])
        if rng.random() < date_typo:
            copy["birthdate"] = copy["birthdate"] + datetime.timedelta(days=40)
        rows.append(copy)
    frame = pd.DataFrame(rows)
    for column in (
        "key_email",
        "mobile_phone",
        "phone",
        "title",
        "key_national_id",
        "account_cluster",
    ):
        frame[column] = None
    return frame.astype(object)


def _fitted(frame: pd.DataFrame):
    return fit(FEATURES["contact"](frame.drop(columns="entity")), CONTACT_SETTINGS)


def test_em_learns_how_often_duplicates_are_mistyped_and_how_many_there_are():
    frame = _people(6000, 1500, name_typo=0.3, date_typo=0.2)
    fitted = _fitted(frame)
    # Typos change the last name of about 30% of copies: the exact level's m says so,
    # where the configured value (0.84) assumed fewer.
    last_exact = fitted.comparison("last_name").levels[0].m
    assert 0.6 < last_exact < 0.78
    birth_exact = fitted.comparison("birthdate").levels[0].m
    assert 0.72 < birth_exact < 0.88
    # 1,500 duplicate pairs among 7,500 records: the prior measured, not assumed.
    truth = learnt_prior(1500, len(frame))
    assert abs(fitted.prior_weight - truth) < 0.6
    # Workplace evidence keeps its configured m.
    for name in ("account", "phone", "street", "postcode", "city"):
        configured = CONTACT_SETTINGS.comparison(name)
        assert [lvl.m for lvl in fitted.comparison(name).levels] == [
            lvl.m for lvl in configured.levels
        ]


def test_a_data_set_whose_duplicates_never_break_the_match_rule_keeps_it_all_but_absolute():
    fitted = _fitted(_people(6000, 1500, name_typo=0.2, date_typo=0.1))
    assert fitted.required_any_penalty is not None
    assert fitted.required_any_penalty < -12


def test_duplicates_that_sometimes_change_both_names_make_the_rule_weigh_less():
    steady = _fitted(_people(6000, 1500, name_typo=0.2, date_typo=0.1))
    renamed = _fitted(_people(6000, 1500, name_typo=0.2, date_typo=0.1, renamed=0.08))
    assert renamed.required_any_penalty > steady.required_any_penalty + 3
    # ... and such a copy (same birth date and home, other names) now merges.
    frame = _people(6000, 1500, name_typo=0.2, date_typo=0.1, renamed=0.08)
    result = resolve(frame.drop(columns="entity"), CONTACT_SETTINGS)
    entity = frame["entity"].to_numpy()
    quality = score_clusters(pd.DataFrame({"truth": entity, "predicted": result.labels}))
    assert quality.recall > 0.97
    assert quality.precision > 0.99


def _colleagues(companies: int, staff: int, duplicates: int, seed: int = 3) -> pd.DataFrame:
    """Companies whose staff share the account, switchboard and office; a few of the
    staff recorded twice (their names as typed, the same office)."""
    rng = np.random.default_rng(seed)
    rows = []
    for company in range(companies):
        office = {
            "phone": f"+4420794{company:05d}",
            "key_street": f"{company} market st",
            "key_postcode": f"EC{company:04d}",
            "mailing_city": "London",
            "account_cluster": float(company),
        }
        for person in range(staff):
            rows.append(
                {
                    "entity": company * staff + person,
                    "key_first": FIRST[rng.integers(len(FIRST))],
                    "key_last": LAST[rng.integers(len(LAST))],
                    **office,
                }
            )
    for index in rng.choice(len(rows), size=duplicates, replace=False):
        copy = dict(rows[index])
        if rng.random() < 0.3:
            copy["key_last"] = _typo(rng, copy["key_last"])
        rows.append(copy)
    frame = pd.DataFrame(rows)
    for column in ("key_email", "mobile_phone", "title", "birthdate", "key_national_id"):
        frame[column] = None
    return frame.astype(object)


def test_colleagues_crowding_the_candidate_pairs_are_not_learnt_as_one_person():
    frame = _colleagues(companies=400, staff=12, duplicates=300)
    fitted = _fitted(frame)
    # EM finds the duplicates, not the colleagues: the prior stays near 300 matches
    # (colleague pairs number 400 * 66 = 26,400), and a first name that differs stays
    # strong evidence against.
    assert fitted.prior_weight < learnt_prior(300, len(frame)) + 1.5
    different = fitted.comparison("first_name").levels[-1]
    assert different.weight < -4
    result = resolve(frame.drop(columns="entity"), CONTACT_SETTINGS)
    quality = score_clusters(pd.DataFrame({"truth": frame["entity"], "predicted": result.labels}))
    # Two colleagues may share both names by chance (66 pairs of colleagues in each of
    # 400 companies); otherwise nobody is merged with a colleague.
    assert quality.precision > 0.98
    assert quality.recall > 0.95


def test_no_level_outweighs_the_exact_one_and_the_others_keep_what_the_data_say():
    comparison = dataclasses.replace(
        CONTACT_SETTINGS.comparison("first_name"),
        levels=(
            Level("exact", 0.2, 0.01),  # 4.3 bits
            Level("nickname_or_initial", 0.01, 0.004),  # 1.3 bits: an initial says little
            Level("close", 0.7, 0.004),  # 7.5 bits: more than exact
            Level("similar", 0.01, 0.01),
            Level("different", 0.08, 0.975),
        ),
    )
    fixed = em.monotone(comparison)
    weights = [level.weight for level in fixed.levels]
    assert abs(weights[0] - max(weights[1:])) < 1e-9
    assert abs(sum(level.m for level in fixed.levels) - 1) < 1e-9
    # Every other weight moved alike (m rescaled): their order is the data's.
    before = [level.weight for level in comparison.levels]
    shifts = [after - was for after, was in zip(weights[1:], before[1:], strict=True)]
    assert max(shifts) - min(shifts) < 1e-9
    assert weights[1] < weights[2]
    # u is what was measured; only m moves.
    assert [lvl.u for lvl in fixed.levels] == [lvl.u for lvl in comparison.levels]
    # Exact already strongest: left as it is.
    assert em.monotone(CONTACT_SETTINGS.comparison("last_name")) == (
        CONTACT_SETTINGS.comparison("last_name")
    )
