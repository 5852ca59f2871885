"""The demo generator: deterministic, and realistic where scale makes it matter."""

from __future__ import annotations

import re

from demo.generator import DemoGenerator


def test_a_seed_always_gives_the_same_data():
    first = DemoGenerator(companies=60, seed=4).generate()
    second = DemoGenerator(companies=60, seed=4).generate()
    assert first.truth.equals(second.truth)
    for org, frame in first.contacts.items():
        assert frame.equals(second.contacts[org])


def test_companies_get_distinct_valid_domains_even_when_brands_repeat():
    generator = DemoGenerator(companies=3000, seed=9)
    generator.generate()
    domains = generator.domains
    assert len(domains) == 3000
    assert all(re.fullmatch(r"[a-z0-9-]+\.[a-z]{2,3}", d) for d in domains)


def test_names_have_a_long_tail():
    data = DemoGenerator(companies=4000, seed=2).generate()
    people = data.truth[data.truth.object == "contact"].entity.nunique()
    surnames = set()
    for frame in data.contacts.values():
        surnames.update(frame["lastname"].dropna().str.lower())
    # Thousands of people, not a few hundred shared surnames.
    assert people > 10_000 and len(surnames) > 2_000
