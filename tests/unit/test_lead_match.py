"""Lead matching on frames, no database: customers found through a retyped name and
e-mail, a newcomer's company through its name and domain, prospects left alone,
leads of one person clustered."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from dedupe import lead_match
from dedupe.lead_match import company_domains, link_leads
from warehouse.parallel import fork_map

FIRST = ["Anna", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jana"]
LAST = ["Albers", "Brandt", "Castell", "Dorn", "Eckl", "Falk", "Gruber", "Hahn", "Imhof", "Jost"]
# Companies of customers and of prospects: nothing alike.
TRADES = {"C": ("Maschinenbau", "Logistik", "Optik"), "P": ("Bakery", "Vineyard", "Pottery")}
AREA = {"C": "30", "P": "89"}


def _people(rng: random.Random, count: int, tag: str) -> pd.DataFrame:
    rows = []
    for i in range(count):
        first, last = rng.choice(FIRST), f"{rng.choice(LAST)}{tag}{i}"
        company = f"{rng.choice(TRADES[tag])} {tag}{i // 3 * 7919 % 10007}"
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}@{tag.lower()}{i // 3}.example".lower(),
                "mobile_phone": None,
                "phone": f"+49{AREA[tag]}{1000000 + i // 3 * 7}",
                "company": company,
            }
        )
    return pd.DataFrame(rows)


def test_company_domains_skip_free_mailboxes():
    domains = company_domains(
        pd.Series([None, "https://www.acme.de/x", None]),
        pd.Series(["jo@gmail.com", "jo@other.de", "jo@Initech.ES"]),
    )
    assert domains.tolist() == [None, "acme.de", "initech.es"]


def test_customers_are_found_and_prospects_left_alone():
    rng = random.Random(5)
    contacts = _people(rng, 300, "C")
    copies = contacts.sample(60, random_state=1).copy()
    # Retyped: a letter of the last name dropped, the phone not given.
    copies["last_name"] = copies["last_name"].str[:-1]
    copies["phone"] = None
    prospects = _people(rng, 40, "P")
    # New people at customers: the company and its mail domain are known, they are not.
    newcomers = contacts.sample(20, random_state=2).copy()
    newcomers["first_name"] = "Quirin"
    newcomers["last_name"] = [f"Oyelaran{i}" for i in range(20)]
    newcomers["email"] = [f"q{i}@" + e.split("@")[1] for i, e in enumerate(newcomers["email"])]
    newcomers["phone"] = None
    leads = pd.concat([copies, prospects, prospects.iloc[:5], newcomers], ignore_index=True)
    leads["domain"] = company_domains(pd.Series([None] * len(leads)), leads["email"])
    accounts = pd.DataFrame(
        {
            "company": contacts["company"],
            "domain": company_domains(pd.Series([None] * len(contacts)), contacts["email"]),
            "phone": contacts["phone"],
        }
    ).drop_duplicates("company")
    accounts = accounts.reset_index(drop=True)

    links = link_leads(leads, contacts, accounts)

    found = links.contact[:60]
    assert (found == copies.index.to_numpy()).mean() >= 0.95
    assert (links.contact[60:] == -1).all()
    # A known person's account is that person's: not looked for again.
    assert (links.account[:60][found >= 0] == -1).all()
    # The newcomers' companies are known; the prospects' are not.
    expected = accounts.set_index("company").index.get_indexer(newcomers["company"])
    assert (links.account[105:] == expected).mean() >= 0.95
    assert (links.account[60:105] == -1).all()
    # A prospect entered twice is one cluster; different prospects are not.
    assert (links.cluster[100:105] == links.cluster[60:65]).all()
    assert len(set(links.cluster[60:100])) == 40


def test_a_stored_model_weighs_unchanged_records_the_same():
    rng = random.Random(9)
    contacts = _people(rng, 300, "C")
    leads = contacts.sample(80, random_state=3).copy()
    leads["last_name"] = leads["last_name"].str[:-1]
    leads["domain"] = company_domains(pd.Series([None] * len(leads)), leads["email"])
    accounts = pd.DataFrame({"company": contacts["company"], "domain": None, "phone": None})
    first = link_leads(leads, contacts, accounts)
    # A few more contacts since: the stored model is reused; weights move only as far
    # as the names' frequencies do.
    grown = pd.concat([contacts, _people(rng, 10, "P")], ignore_index=True)
    again = link_leads(leads, grown, accounts, models=first.models)
    assert again.models == first.models
    assert (again.contact == first.contact).all()
    assert np.nanmax(np.abs(again.contact_weight - first.contact_weight)) < 0.2
    # Grown past the refit threshold, the model is fitted afresh.
    bigger = pd.concat([contacts, _people(rng, 120, "P")], ignore_index=True)
    refitted = link_leads(leads, bigger, accounts, models=first.models)
    assert refitted.models["person"]["records"] != first.models["person"]["records"]


def test_keying_and_scoring_spread_over_processes_give_what_one_of_each_gives(monkeypatch):
    rng = random.Random(11)
    contacts = _people(rng, 300, "C")
    leads = pd.concat([contacts.sample(90, random_state=4), _people(rng, 30, "P")])
    leads = leads.reset_index(drop=True)
    leads["last_name"] = leads["last_name"].str[:-1]
    leads["domain"] = company_domains(pd.Series([None] * len(leads)), leads["email"])
    accounts = pd.DataFrame({"company": contacts["company"], "domain": None, "phone": None})
    alone = link_leads(leads, contacts, accounts)

    # Slices of a hundred records keyed, and pieces of a hundred pairs scored, in
    # forked processes.
    monkeypatch.setattr(lead_match, "RECORDS_PER_KEY_TASK", 100)
    monkeypatch.setattr(lead_match, "PAIRS_PER_TASK", 100)
    pieces = []

    def spread(task, count):
        pieces.append(count)
        return fork_map(task, count, workers=2)

    spread_out = link_leads(leads, contacts, accounts, spread=spread)
    assert max(pieces) > 2
    for name in ("cluster", "contact", "contact_weight", "account", "account_weight"):
        np.testing.assert_array_equal(getattr(spread_out, name), getattr(alone, name))
    np.testing.assert_array_equal(spread_out.person.weight, alone.person.weight)
    for name, keyed in alone.keyed.items():
        np.testing.assert_array_equal(spread_out.keyed[name].keys, keyed.keys)
        pd.testing.assert_frame_equal(spread_out.keyed[name].features, keyed.features)
