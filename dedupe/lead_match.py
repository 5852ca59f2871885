"""Which customer a lead already is, in any org, and which leads are one person.

Salesforce's own lead-to-contact duplicate rules stop at the org boundary. Here every
lead is compared with the contacts of every org (names, e-mail, phones, company) and
with every other lead, and, for the company, with the accounts of every org (company
name, web or e-mail domain, phone): two Fellegi–Sunter models made from the fields'
kinds (`dedupe.generic`), whose weights are learnt from the installation's own
records. Only pairs that hold a lead are generated and scored; contacts are never
compared with contacts here (their resolution does that).

Input frames hold cleaned values (as the unified records do), one row per record;
positions are identities. No database, no Dagster.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dedupe import normalize as nz
from dedupe.blocking import key_hashes, pairs_with
from dedupe.cluster import cluster
from dedupe.estimate import MODEL_VERSION, fit, parameters, with_parameters
from dedupe.generic import GenericMatcher, match_key
from dedupe.score import score_pairs
from dedupe.settings import MatchSettings

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


def company_domains(websites: pd.Series, emails: pd.Series) -> pd.Series:
    """A record's company domain: its website's, else its e-mail's unless that is a
    free mailbox's."""
    from_mail = nz.website_domains(emails.where(emails.notna(), None))
    from_mail = from_mail.where(~from_mail.isin(FREE_MAIL), None)
    return nz.website_domains(websites.where(websites.notna(), None)).fillna(from_mail)


def _keyed(matcher: GenericMatcher, frame: pd.DataFrame) -> pd.DataFrame:
    """The match keys (and coarse keys) of every record: all that is compared."""
    kinds = matcher.kinds
    keys = pd.DataFrame(index=frame.index)
    for name in matcher.matched:
        values = frame[name].astype(object)
        keys[f"key_{name}"] = match_key(kinds[name], values.where(values.notna(), None))
    return matcher.features(keys)


def _matches(
    matcher: GenericMatcher,
    leads: pd.DataFrame,
    others: pd.DataFrame,
    seed: int,
    threshold: float | None = None,
    blocking: tuple[tuple[str, ...], ...] | None = None,
    stored: dict | None = None,
    refit_change: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict | None]:
    """Matching pairs (positions into leads then others, left < right) and their
    weights, among the pairs that hold a lead, and the model's parameters: the
    `stored` ones while the records number about as many (within `refit_change`),
    else fitted afresh, so that unchanged records weigh the same from run to run."""
    frame = pd.concat(
        [leads.reindex(columns=[n for n, _ in matcher.fields]), others], ignore_index=True
    )
    empty = np.empty(0, dtype=np.int64)
    if len(leads) == 0 or len(frame) < 2:
        return empty, empty, np.empty(0), stored
    features = _keyed(matcher, frame)
    settings = matcher.settings
    if blocking is not None:
        settings = dataclasses.replace(settings, blocking_rules=blocking)
    if (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(len(features) - stored["records"]) <= refit_change * max(stored["records"], 1)
    ):
        settings = with_parameters(settings, stored)
    else:
        settings = _fitted(features, settings, len(leads), seed)
        stored = parameters(settings, len(features))
    if threshold is not None:
        settings = dataclasses.replace(settings, match_weight=threshold)
    positions = np.arange(len(features), dtype=np.int64)
    keys = key_hashes(features, settings.blocking_rules)
    left, right = pairs_with(positions, keys, positions[: len(leads)], settings.max_block_size)
    if len(left) == 0:
        return empty, empty, np.empty(0), stored
    scored = score_pairs(features, left, right, settings)
    matched = scored.is_match
    return left[matched], right[matched], scored.match_weight[matched], stored


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


def _best(lead: np.ndarray, other: np.ndarray, weight: np.ndarray, leads: int):
    """Per lead, the other record of its strongest match (-1 none) and its weight."""
    best = np.full(leads, -1, dtype=np.int64)
    best_weight = np.full(leads, np.nan)
    if len(lead):
        order = np.lexsort((-weight, lead))
        lead, other, weight = lead[order], other[order], weight[order]
        first = np.ones(len(lead), dtype=bool)
        first[1:] = lead[1:] != lead[:-1]
        best[lead[first]] = other[first]
        best_weight[lead[first]] = weight[first]
    return best, best_weight


def _through_cluster(labels: np.ndarray, best: np.ndarray, weight: np.ndarray):
    """A lead with no match of its own takes its cluster's strongest: they are one
    person."""
    frame = pd.DataFrame({"cluster": labels, "best": best, "weight": weight})
    strongest = (
        frame[frame["best"] >= 0].sort_values("weight", ascending=False).drop_duplicates("cluster")
    )
    by_cluster = strongest.set_index("cluster")
    missing = best < 0
    filled_best = best.copy()
    filled_weight = weight.copy()
    found = pd.Series(labels[missing]).map(by_cluster["best"])
    filled_best[missing] = found.fillna(-1).to_numpy(dtype=np.int64)
    filled_weight[missing] = pd.Series(labels[missing]).map(by_cluster["weight"]).to_numpy()
    return filled_best, filled_weight


def link_leads(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame,
    seed: int = 360,
    models: dict[str, dict | None] | None = None,
    refit_change: float = 0.1,
) -> LeadLinks:
    """leads: first_name, last_name, email, mobile_phone, phone, company, domain;
    contacts: the same (company: their account's name); accounts: company, domain,
    phone. Cleaned values, nulls as None/NaN. `models`: the parameters a last run
    returned, reused while the records number about as many."""
    models = models or {}
    n = len(leads)
    left, right, weight, person = _matches(
        PERSON,
        leads,
        contacts.reindex(columns=[name for name, _ in PERSON.fields]),
        seed,
        blocking=PERSON_BLOCKING,
        stored=models.get("person"),
        refit_change=refit_change,
    )
    both_leads = right < n
    labels = cluster(n, left[both_leads], right[both_leads], weight[both_leads])
    to_contact = ~both_leads  # left < right: the lead is on the left
    contact, contact_weight = _best(left[to_contact], right[to_contact] - n, weight[to_contact], n)
    contact, contact_weight = _through_cluster(labels, contact, contact_weight)

    # A lead that is a known person is at that person's account; the others are
    # compared with every org's accounts by company.
    unknown = np.flatnonzero(contact < 0)
    company_left, company_right, company_weight, company = _matches(
        COMPANY,
        leads.iloc[unknown].reset_index(drop=True),
        accounts.reindex(columns=[name for name, _ in COMPANY.fields]),
        seed + 1,
        COMPANY_LINK_WEIGHT,
        stored=models.get("company"),
        refit_change=refit_change,
    )
    to_account = company_right >= len(unknown)
    found, found_weight = _best(
        company_left[to_account],
        company_right[to_account] - len(unknown),
        company_weight[to_account],
        len(unknown),
    )
    account = np.full(n, -1, dtype=np.int64)
    account_weight = np.full(n, np.nan)
    account[unknown], account_weight[unknown] = found, found_weight
    account, account_weight = _through_cluster(labels, account, account_weight)
    return LeadLinks(
        labels,
        contact,
        contact_weight,
        account,
        account_weight,
        {"person": person, "company": company},
    )
