"""Which customer a lead already is, in any org, and which leads are one person.

Salesforce's own lead-to-contact duplicate rules stop at the org boundary. Here every
lead is compared with the contacts of every org (names, e-mail, phones, company) and
with every other lead, and, for the company, with the accounts of every org (company
name, web or e-mail domain, phone): two Fellegi–Sunter models made from the fields'
kinds (`dedupe.generic`), whose weights are learnt from the installation's own
records. Only pairs that hold a lead are generated and scored; contacts are never
compared with contacts here (their resolution does that).

The matching is steps an incremental run (`warehouse.lead_increments`) also takes on
part of the records: key them (`keyed`), score candidate pairs (`matching_pairs`), then
work out each lead's links from its matching pairs (`person_links`, `account_links`).
A frame's order breaks ties, so that any part of the records comes out as all of them
do: a cluster is named after its first lead, and of two equally strong matches a lead
takes the first record. Callers keep leads in (org, sfid) order, contacts and accounts
in record id order.

Input frames hold cleaned values (as the unified records do), one row per record;
positions are identities. No database, no Dagster.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dedupe import normalize as nz
from dedupe.blocking import key_hashes, pairs_with
from dedupe.cluster import cluster
from dedupe.estimate import MODEL_VERSION, fit, parameters, with_parameters
from dedupe.generic import GenericMatcher, match_key
from dedupe.score import CodedColumns, score_pairs
from dedupe.settings import MatchSettings, stored_rules

PERSON = GenericMatcher(
    "lead_person",
    (
        ("first_name", "person_name"),
        ("last_name", "person_name"),
        ("email", "email"),
        ("mobile_phone", "phone"),
        ("phone", "phone"),
        ("company", "company"),
    ),
    ("first_name", "last_name", "email", "mobile_phone", "phone", "company"),
)
COMPANY = GenericMatcher(
    "lead_company",
    (("company", "company"), ("domain", "url"), ("phone", "phone")),
    ("company", "domain", "phone"),
)
# Domains of mailboxes anyone can open: a lead's address there says nothing of its company.
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.jp",
        "yahoo.co.uk",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
        "orange.fr",
        "free.fr",
    }
)
# Where a lead and a contact of one person are likely to agree; narrower than a block
# per field (a company's contacts all share its name and switchboard, and a surname's
# sound is shared by thousands).
PERSON_BLOCKING = (
    ("key_email",),
    ("key_email_coarse",),  # the same mailbox at another domain
    ("key_mobile_phone",),
    ("key_last_name",),  # a rare surname (a common one's block is too large to pair)
    ("key_first_name", "key_last_name_coarse"),  # a typo in the surname
    ("key_last_name_coarse", "key_company"),  # a typo in the surname, at one company
    ("key_phone", "key_first_name_coarse"),  # the switchboard, and the first name's sound
)
PERSON_SETTINGS = dataclasses.replace(PERSON.settings, blocking_rules=PERSON_BLOCKING)
COMPANY_SETTINGS = COMPANY.settings
# A lead takes its best account at odds better than one in eight: it points to a likely
# customer rather than merging anything, and a company's name alone (a lead typed
# without an e-mail) must be able to reach it. The name's term frequency counts a
# company known to three orgs as three companies sharing it, so an exact name of one
# company weighs less than it should.
COMPANY_LINK_WEIGHT = -3.0
# Records the weights are learnt from, at most (leads first, then a sample of the rest):
# enough to measure each field, without fitting on millions.
FIT_SAMPLE = 200_000


@dataclass(frozen=True)
class Keyed:
    """Records as one model compares them: their features, and per record the hash of
    each of `stored_rules(settings)` (the blocking rules, then the term-frequency
    columns), rows as the records."""

    features: pd.DataFrame
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.features)

    def take(self, positions: np.ndarray) -> Keyed:
        return Keyed(self.features.iloc[positions].reset_index(drop=True), self.keys[positions])

    @staticmethod
    def concat(parts: Sequence[Keyed]) -> Keyed:
        features = pd.concat([part.features for part in parts], ignore_index=True)
        return Keyed(features, np.concatenate([part.keys for part in parts]))


@dataclass(frozen=True)
class Matches:
    """Matching pairs: positions (left, right) and their match weights."""

    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray

    @staticmethod
    def none() -> Matches:
        empty = np.empty(0, dtype=np.int64)
        return Matches(empty, empty, np.empty(0))

    def where(self, mask: np.ndarray) -> Matches:
        return Matches(self.left[mask], self.right[mask], self.weight[mask])


@dataclass(frozen=True)
class LeadLinks:
    """Per lead (in the leads frame's order): its cluster (the position of one of its
    leads), the contact and the account it matched (positions, -1 for none) and those
    matches' weights (NaN for none). A lead that matched a contact is not compared
    with accounts: its account is that contact's."""

    cluster: np.ndarray
    contact: np.ndarray
    contact_weight: np.ndarray
    account: np.ndarray
    account_weight: np.ndarray
    # Each model's parameters ("person", "company"), to store and reuse next time.
    models: dict[str, dict | None]
    # The matching pairs the links come from: `person` between a lead (left) and a lead
    # (right, below the number of leads) or a contact (right, that number on);
    # `company` between a lead and an account (positions in the accounts frame).
    person: Matches
    company: Matches
    # The records as each model keyed them, for an incremental run to start from: the
    # leads and the contacts by the person model ("lead_person", "contact_person"), the
    # leads that matched no person (in order) and the accounts by the company model
    # ("lead_company", "account_company").
    keyed: dict[str, Keyed]


def company_domains(websites: pd.Series, emails: pd.Series) -> pd.Series:
    """A record's company domain: its website's, else its e-mail's unless that is a
    free mailbox's."""
    from_mail = nz.website_domains(emails.where(emails.notna(), None))
    from_mail = from_mail.where(~from_mail.isin(FREE_MAIL), None)
    return nz.website_domains(websites.where(websites.notna(), None)).fillna(from_mail)


# Runs `task(0)` ... `task(count - 1)` and returns their results in order: the caller's
# may spread the tasks over processes (`warehouse.parallel.fork_map`); a task returns
# only what pickles cheaply.
Spread = Callable[[Callable[[int], Any], int], list]


def serially(task: Callable[[int], Any], count: int) -> list:
    return [task(index) for index in range(count)]


class KeyMemo:
    """Match keys worked out in one matching, by kind and value: the person model keys
    leads and contacts, the company model leads and accounts, and the same company
    names (a contact's is its account's), domains and phones come round again."""

    def __init__(self) -> None:
        self._known: dict[str, dict[object, object]] = {}

    def keys(self, kind: str, values: np.ndarray) -> np.ndarray:
        """`match_key` of each of the distinct `values`."""
        known = self._known.setdefault(kind, {})
        missing = [value for value in values if value not in known]
        if missing:
            found = match_key(kind, pd.Series(missing, dtype=object)).to_numpy(dtype=object)
            known.update(zip(missing, found, strict=True))
        return np.array([known[value] for value in values], dtype=object)


def _match_keys(kind: str, values: pd.Series, memo: KeyMemo | None = None) -> np.ndarray:
    """`match_key` of each value, worked out once per distinct value and spread to the
    records (a company's name on each of its contacts, a first name on thousands)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if memo is None:
        distinct = match_key(kind, pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    else:
        distinct = memo.keys(kind, np.asarray(uniques, dtype=object))
    # One slot more, left null: code -1 (a null value) lands on it.
    return np.append(distinct, None)[codes]


def features_of(
    matcher: GenericMatcher, frame: pd.DataFrame, memo: KeyMemo | None = None
) -> pd.DataFrame:
    """The match keys (and coarse keys) of every record: all that is compared."""
    keys = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name in matcher.matched:
        keys[f"key_{name}"] = _match_keys(matcher.kinds[name], frame[name].astype(object), memo)
    return matcher.features(keys)


def keyed(
    matcher: GenericMatcher,
    settings: MatchSettings,
    frame: pd.DataFrame,
    memo: KeyMemo | None = None,
) -> Keyed:
    """`features_of` every record, and the hashes of its `stored_rules(settings)`."""
    features = features_of(matcher, frame, memo)
    coded = CodedColumns(features)
    return Keyed(features, key_hashes(features, stored_rules(settings), coded))


def keyed_together(
    matcher: GenericMatcher,
    settings: MatchSettings,
    frames: Sequence[pd.DataFrame],
    memo: KeyMemo | None = None,
) -> list[Keyed]:
    """`keyed` of several frames at once (leads and contacts share names and
    companies: each value is keyed once), split back into one per frame."""
    columns = [name for name, _ in matcher.fields]
    every = keyed(
        matcher,
        settings,
        pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True),
        memo,
    )
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [every.take(np.arange(start, end)) for start, end in itertools.pairwise(bounds)]


# Records keyed per task when `key_records` spreads the keying: a few tasks per process
# at a million records, so that the parent takes in one task's keys while the others
# are worked out, and a value shared by many records (a first name) is keyed only a
# few times over.
RECORDS_PER_KEY_TASK = 400_000


def key_records(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame,
    spread: Spread = serially,
) -> dict[str, Keyed]:
    """Every record as each model keys it: the leads and contacts by the person model
    ("lead_person", "contact_person"), every lead and the accounts by the company model
    ("lead_company", "account_company"). Each task keys a slice of each frame by both
    models, sharing its company names, domains and phones (`KeyMemo`); a record's keys
    are its own, so the slices give what one keying gives."""
    tasks = max(1, -(-(len(leads) + len(contacts) + len(accounts)) // RECORDS_PER_KEY_TASK))
    bounds = {
        name: np.linspace(0, len(frame), tasks + 1, dtype=np.int64)
        for name, frame in (("leads", leads), ("contacts", contacts), ("accounts", accounts))
    }

    def key(index: int) -> tuple[Keyed, Keyed, Keyed, Keyed]:
        def part(name: str, frame: pd.DataFrame) -> pd.DataFrame:
            return frame.iloc[bounds[name][index] : bounds[name][index + 1]]

        memo = KeyMemo()
        these = part("leads", leads)
        person = keyed_together(PERSON, PERSON_SETTINGS, [these, part("contacts", contacts)], memo)
        company = keyed_together(
            COMPANY, COMPANY_SETTINGS, [these, part("accounts", accounts)], memo
        )
        return (*person, *company)

    pieces = spread(key, tasks)
    names = ("lead_person", "contact_person", "lead_company", "account_company")
    return {
        name: Keyed.concat([piece[slot] for piece in pieces]) for slot, name in enumerate(names)
    }


def reusable(stored: dict | None, records: int, refit_change: float) -> bool:
    """Whether `stored` parameters still serve `records` records: of this model's
    version, fitted on about as many (within `refit_change`)."""
    return (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(records - stored["records"]) <= refit_change * max(stored["records"], 1)
    )


def _model(
    records: Keyed,
    leads: int,
    settings: MatchSettings,
    stored: dict | None,
    refit_change: float,
    seed: int,
) -> tuple[MatchSettings, dict | None]:
    """The `stored` parameters while the records number about as many, else fitted
    afresh, so that unchanged records weigh the same from run to run."""
    if reusable(stored, len(records), refit_change):
        return with_parameters(settings, stored), stored
    fitted = _fitted(records.features, settings, leads, seed)
    return fitted, parameters(fitted, len(records))


def _fitted(features: pd.DataFrame, settings: MatchSettings, leads: int, seed: int):
    """The model fitted on the leads and a sample of the others (at most FIT_SAMPLE
    records in all: enough to measure each field, without fitting on millions)."""
    sample = features
    if len(features) > FIT_SAMPLE:
        rest = max(FIT_SAMPLE - leads, FIT_SAMPLE // 2)
        picked = np.random.default_rng(seed).choice(
            np.arange(leads, len(features)),
            size=min(rest, len(features) - leads),
            replace=False,
        )
        sample = features.iloc[np.concatenate([np.arange(min(leads, FIT_SAMPLE)), picked])]
        sample = sample.reset_index(drop=True)
    return fit(sample, settings)


# Candidate pairs scored per task when `matching_pairs` spreads them: enough that a
# task outweighs starting it, few enough that a matching's two million pairs make
# eight tasks, which two or four processes share out evenly (three of a million
# each left one of two processes scoring two).
PAIRS_PER_TASK = 250_000


def matching_pairs(
    features: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
    coded: CodedColumns | None = None,
    spread: Spread = serially,
) -> Matches:
    """The candidate pairs (positions into `features`) that match, with their weights.
    `coded`: the features' columns, with the term frequencies of all records when
    `features` holds only some of them. The pairs are scored in pieces (`spread`);
    each pair's score is its own, so the pieces give what one scoring gives."""
    if len(left) == 0:
        return Matches.none()
    # Worked out once, before any task: forked tasks share it.
    coded = (coded or CodedColumns(features)).precompute(settings)
    bounds = np.linspace(0, len(left), -(-len(left) // PAIRS_PER_TASK) + 1, dtype=np.int64)

    def score(index: int) -> tuple[np.ndarray, np.ndarray]:
        piece = slice(bounds[index], bounds[index + 1])
        scored = score_pairs(features, left[piece], right[piece], settings, coded=coded)
        return scored.match_weight, scored.is_match

    scored = spread(score, len(bounds) - 1)
    weight = np.concatenate([weights for weights, _ in scored])
    is_match = np.concatenate([matched for _, matched in scored])
    return Matches(left, right, weight).where(is_match)


def _matches_of_leads(
    records: Keyed,
    leads: int,
    settings: MatchSettings,
    stored: dict | None,
    refit_change: float,
    seed: int,
    threshold: float | None = None,
    spread: Spread = serially,
) -> tuple[Matches, dict | None]:
    """Matching pairs among `records` (the first `leads` of them leads) that hold a
    lead, and the model's parameters."""
    if leads == 0 or len(records) < 2:
        return Matches.none(), stored
    settings, params = _model(records, leads, settings, stored, refit_change, seed)
    if threshold is not None:
        settings = dataclasses.replace(settings, match_weight=threshold)
    positions = np.arange(len(records), dtype=np.int64)
    blocking = records.keys[:, : len(settings.blocking_rules)]
    left, right = pairs_with(positions, blocking, positions[:leads], settings.max_block_size)
    return matching_pairs(records.features, left, right, settings, spread=spread), params


def _best(lead: np.ndarray, other: np.ndarray, weight: np.ndarray, leads: int):
    """Per lead, the other record of its strongest match (-1 none) and its weight; of
    equally strong ones, the first other record."""
    best = np.full(leads, -1, dtype=np.int64)
    best_weight = np.full(leads, np.nan)
    if len(lead):
        order = np.lexsort((other, -weight, lead))
        lead, other, weight = lead[order], other[order], weight[order]
        first = np.ones(len(lead), dtype=bool)
        first[1:] = lead[1:] != lead[:-1]
        best[lead[first]] = other[first]
        best_weight[lead[first]] = weight[first]
    return best, best_weight


def _through_cluster(labels: np.ndarray, best: np.ndarray, weight: np.ndarray):
    """A lead with no match of its own takes its cluster's strongest (of equally
    strong ones, the first other record): they are one person."""
    found = np.flatnonzero(best >= 0)
    order = found[np.lexsort((best[found], -weight[found], labels[found]))]
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    strongest = order[first]
    by_cluster = np.full(len(labels), -1, dtype=np.int64)
    by_cluster[labels[strongest]] = strongest
    missing = np.flatnonzero((best < 0) & (by_cluster[labels] >= 0))
    filled_best, filled_weight = best.copy(), weight.copy()
    source = by_cluster[labels[missing]]
    filled_best[missing] = best[source]
    filled_weight[missing] = weight[source]
    return filled_best, filled_weight


def person_links(leads: int, found: Matches) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each lead's cluster, contact and contact weight from the person model's matching
    pairs (`LeadLinks.person`)."""
    both_leads = found.right < leads
    labels = cluster(
        leads, found.left[both_leads], found.right[both_leads], found.weight[both_leads]
    )
    to_contact = found.where(~both_leads)
    contact, weight = _best(to_contact.left, to_contact.right - leads, to_contact.weight, leads)
    contact, weight = _through_cluster(labels, contact, weight)
    return labels, contact, weight


def account_links(labels: np.ndarray, found: Matches) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's account and its weight from the company model's matching pairs
    (`LeadLinks.company`: only leads that matched no person have any)."""
    account, weight = _best(found.left, found.right, found.weight, len(labels))
    return _through_cluster(labels, account, weight)


def link_leads(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame,
    seed: int = 360,
    models: dict[str, dict | None] | None = None,
    refit_change: float = 0.1,
    spread: Spread = serially,
) -> LeadLinks:
    """leads: first_name, last_name, email, mobile_phone, phone, company, domain;
    contacts: the same (company: their account's name); accounts: company, domain,
    phone. Cleaned values, nulls as None/NaN. `models`: the parameters a last run
    returned, reused while the records number about as many. `spread`: how keying and
    scoring run their pieces (side by side, or one after another)."""
    models = models or {}
    n = len(leads)
    keyed = key_records(leads, contacts, accounts, spread)
    lead_person, contact_person = keyed["lead_person"], keyed["contact_person"]
    person, person_model = _matches_of_leads(
        Keyed.concat([lead_person, contact_person]),
        n,
        PERSON_SETTINGS,
        models.get("person"),
        refit_change,
        seed,
        spread=spread,
    )
    labels, contact, contact_weight = person_links(n, person)

    # A lead that is a known person is at that person's account; the others are
    # compared with every org's accounts by company.
    unknown = np.flatnonzero(contact < 0)
    lead_company = keyed["lead_company"].take(unknown)
    account_company = keyed["account_company"]
    found, company_model = _matches_of_leads(
        Keyed.concat([lead_company, account_company]),
        len(unknown),
        COMPANY_SETTINGS,
        models.get("company"),
        refit_change,
        seed + 1,
        COMPANY_LINK_WEIGHT,
        spread,
    )
    to_account = found.where(found.right >= len(unknown))
    company = Matches(unknown[to_account.left], to_account.right - len(unknown), to_account.weight)
    account, account_weight = account_links(labels, company)
    return LeadLinks(
        labels,
        contact,
        contact_weight,
        account,
        account_weight,
        {"person": person_model, "company": company_model},
        person,
        company,
        {
            "lead_person": lead_person,
            "contact_person": contact_person,
            "lead_company": lead_company,
            "account_company": account_company,
        },
    )
