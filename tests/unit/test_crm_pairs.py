"""Duplicates as third-party CRM data holds them, resolved from raw Salesforce fields:
a direct line with its extension, an e-mail local part at another domain, names cut
short, garbled or in capitals, a mistyped domain, among colleagues and strangers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.catalogue import CATALOGUE, FIELDS
from dedupe.in_memory import resolve
from dedupe.prepare import prepare_contacts
from dedupe.settings import CONTACT_SETTINGS
from tests.helpers.names import made_up_names

FIRST = [name.capitalize() for name in made_up_names(300, 1)]
LAST = [name.capitalize() for name in made_up_names(2000, 2)]
TITLES = ["Account Executive", "CFO", "VP Sales", "Engineer", "Buyer", "Office Manager"]
CITIES = ["Chicago", "Denver", "Austin", "Boston", "Seattle"]

# The duplicates of the CRM-like data org360 was not tuned for, each pair in one org.
PAIRS = [
    (
        # The same direct line with its extension and title; city mistyped, last name
        # cut short, first name garbled.
        {
            "first_name": "Samuel",
            "last_name": "Kennedy",
            "phone": "+1-224-555-0120 x6422",
            "title": "Procurement Lead",
            "mailing_city": "Evanston",
        },
        {
            "first_name": "Saxel",
            "last_name": "Ke",
            "phone": "+1 224 555 0120 ext. 6422",
            "title": "Procurement Lead",
            "mailing_city": "Evansotn",
        },
    ),
    (
        # The same e-mail local part at another domain, same title; names garbled, cut.
        {
            "first_name": "Vincent",
            "last_name": "Hawkins",
            "email": "logan776212@proton.me",
            "title": "Logistics Planner",
        },
        {
            "first_name": "INRCENT",
            "last_name": "Hwkins",
            "email": "logan776212@example.com",
            "title": "Logistics Planner",
        },
    ),
    (
        # Names in capitals with a letter dropped, the e-mail's domain mistyped.
        {"first_name": "Heidi", "last_name": "Porter", "email": "heidi.porter@example.com"},
        {"first_name": "CHEIDI", "last_name": "PORTE", "email": "heidi.porter@exrmple.com"},
    ),
]


def _population(rng: np.random.Generator, companies: int, staff: int) -> list[dict]:
    """Colleagues sharing a switchboard (each with an extension of their own), a
    company e-mail domain and a city."""
    rows = []
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    for company in range(companies):
        city = CITIES[company % len(CITIES)]
        # Company domains differ as real ones do: not by one typed character.
        domain = "".join(rng.choice(letters, 9)) + ".example"
        for person in range(staff):
            first, last = FIRST[rng.integers(len(FIRST))], LAST[rng.integers(len(LAST))]
            rows.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}@{domain}".lower(),
                    "phone": f"+1 312 555 {company:04d} x{100 + person}",
                    "title": TITLES[rng.integers(len(TITLES))],
                    "mailing_city": city,
                    "account": float(company),
                }
            )
    return rows


def _raw(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {"org": "crm", "sfid": f"003Cr{i:013d}", "systemmodstamp": None, "hc_lastop": None}
            | {"mailing_country": "US"}
            | row
            for i, row in enumerate(rows)
        ]
    )
    return frame.reindex(columns=["org", "sfid", *FIELDS["contact"], "systemmodstamp", "hc_lastop"])


def test_the_pairs_hand_set_rules_turned_away_merge_and_colleagues_stay_apart():
    rng = np.random.default_rng(8)
    rows = _population(rng, companies=150, staff=8)
    duplicated = rng.choice(len(rows), size=120, replace=False)
    copies = [dict(rows[i]) for i in duplicated]
    # As records are typed again: in capitals, a letter dropped, a letter doubled.
    for copy, noise in zip(copies, rng.random((len(copies), 3)), strict=True):
        if noise[0] < 0.5:
            copy["last_name"] = copy["last_name"].upper()
        if noise[1] < 0.3:
            copy["last_name"] = copy["last_name"][:2] + copy["last_name"][3:]
        if noise[2] < 0.2:
            copy["first_name"] = copy["first_name"][:3] + copy["first_name"][2:]
    pair_rows = [record for pair in PAIRS for record in pair]
    everyone = rows + copies + pair_rows
    prepared = prepare_contacts(_raw(everyone), CATALOGUE["contact"].lengths)
    assert len(prepared.records) == len(everyone)
    # The account's cluster, as the pipeline joins it (the pairs have no account).
    records = prepared.records.reset_index(drop=True)
    records["account_cluster"] = [row.get("account", np.nan) for row in everyone]
    labels = resolve(records, CONTACT_SETTINGS).labels

    start = len(rows) + len(copies)
    for index in range(len(PAIRS)):
        left, right = start + 2 * index, start + 2 * index + 1
        assert labels[left] == labels[right], PAIRS[index][0]
    # Each copy found its original, and no two colleagues were merged.
    found = [labels[i] == labels[len(rows) + k] for k, i in enumerate(duplicated)]
    assert np.mean(found) > 0.95
    people = np.concatenate([np.arange(len(rows)), duplicated])
    owners = pd.Series(people).groupby(labels[: len(people)]).nunique()
    assert owners.max() == 1
