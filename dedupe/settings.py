"""Declarative matching settings: which fields are compared how, with what weight.

The model is Fellegi–Sunter: each comparison puts a pair on one of its levels,
and each level carries m (how often true matches land there) and u (how often
non-matches do). Its match weight is log2(m/u); a pair's weight is the prior
plus the sum of its comparisons' weights. A null on either side is no evidence
(weight 0), neither reward nor penalty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    name: str
    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


@dataclass(frozen=True)
class Comparison:
    """One field (or field pair) compared one way.

    kind: the comparator in `dedupe.compare` ('company', 'first_name', 'last_name',
    'exact', 'phone', 'date', 'street', 'city', 'same_account').
    levels: agreement levels, strongest first; the last is disagreement.
    term_frequency: on the exact level, use the value's own frequency as u, so a
    match on a rare value counts for more than on a common one.
    group: comparisons in one group are correlated evidence (colleagues share the
    account, the switchboard phone and the office address): the strongest agreement
    in a group counts in full, each further one only by what it adds beyond the
    others (`MatchSettings.dependence`); every disagreement counts against.
    veto: disagreement (the last level) is a cannot-link: two registration numbers that
    differ by more than a typo are two companies, whatever their names say.
    """

    name: str
    kind: str
    column: str
    levels: tuple[Level, ...]
    term_frequency: bool = False
    group: str | None = None
    veto: bool = False


@dataclass(frozen=True)
class MatchSettings:
    object: str
    comparisons: tuple[Comparison, ...]
    # Each rule lists key columns; records sharing all of a rule's values are compared.
    blocking_rules: tuple[tuple[str, ...], ...]
    prior_weight: float
    match_weight: float
    review_weight: float
    max_block_size: int = 60
    # A match needs every `required_all` comparison not to disagree (null is fine) and
    # at least one `required_any` comparison to agree, unless all of them are null:
    # Salesforce's own rule demands the name; an address alone never merges.
    required_all: tuple[str, ...] = ()
    required_any: tuple[str, ...] = ()
    # A `required_all` disagreement is forgiven when one of these agrees: evidence of
    # the person (an e-mail, a birth date) outweighs a first name typed differently.
    required_all_waived_by: tuple[str, ...] = ()
    # What breaking each of those rules weighs, measured on the data (dedupe.em): log2
    # of how often true matches break it over how often random pairs do. None (not
    # measured): the rule is absolute, a pair that breaks it never matches.
    required_all_penalty: float | None = None
    required_any_penalty: float | None = None
    # A pair below this weight is certainly different: it keeps two clusters apart.
    cannot_link_weight: float = -12.0
    # How far below `match_weight` a pair that was merged last run may fall and stay merged.
    hysteresis: float = 2.0
    # Learn m, the prior and the match rule's strength from the candidate pairs by EM
    # (dedupe.em); off, m stays as configured and the prior assumes one duplicate per
    # record.
    learn_m: bool = True
    # Measured on the data (dedupe.estimate.group_dependence): (a, b, bits) for two
    # comparisons of one group, how much more often non-matches agree on both than
    # chance says. A second agreement in a group counts its weight less these bits; a
    # pair not listed is taken as wholly dependent (the strongest agreement alone counts).
    dependence: tuple[tuple[str, str, float], ...] = ()
    # Blocking keys derived from compared columns (a name's sound from the name), beside
    # those `dedupe.features.KEY_SOURCES` lists for the tuned objects: a session of EM
    # on such a key leaves those columns' comparisons out (dedupe.em).
    key_sources: tuple[tuple[str, frozenset[str]], ...] = ()

    def comparison(self, name: str) -> Comparison:
        for comparison in self.comparisons:
            if comparison.name == name:
                return comparison
        raise KeyError(name)


def stored_rules(model: MatchSettings) -> tuple[tuple[str, ...], ...]:
    """The keys stored per record for incremental runs: every blocking rule's, then each
    term-frequency column's (so an incremental run counts how common a name is without a
    scan)."""
    counted = tuple((c.column,) for c in model.comparisons if c.term_frequency)
    return model.blocking_rules + tuple(dict.fromkeys(counted))


def _levels(*triples: tuple[str, float, float]) -> tuple[Level, ...]:
    return tuple(Level(n, m, u) for n, m, u in triples)


ACCOUNT_SETTINGS = MatchSettings(
    object="account",
    comparisons=(
        Comparison(
            "name",
            "company",
            "key_name",
            _levels(
                ("exact", 0.70, 0.0008),
                ("close", 0.18, 0.004),
                ("similar", 0.07, 0.02),
                ("different", 0.05, 0.975),
            ),
            term_frequency=True,
        ),
        Comparison(
            "domain",
            "exact",
            "domain",
            _levels(("exact", 0.85, 0.0005), ("different", 0.15, 0.9995)),
        ),
        Comparison(
            "phone",
            "phone",
            "phone_main",
            _levels(
                ("exact", 0.65, 0.0005), ("last_digits", 0.10, 0.001), ("different", 0.25, 0.9985)
            ),
        ),
        Comparison(
            "street",
            "street",
            "key_street",
            _levels(("close", 0.70, 0.002), ("similar", 0.15, 0.01), ("different", 0.15, 0.988)),
            group="address",
        ),
        Comparison(
            "postcode",
            "exact",
            "key_postcode",
            _levels(("exact", 0.85, 0.01), ("different", 0.15, 0.99)),
            group="address",
        ),
        Comparison(
            "city",
            "city",
            "billing_city",
            _levels(("exact", 0.88, 0.03), ("different", 0.12, 0.97)),
            group="address",
        ),
        Comparison(
            "country",
            "exact",
            "billing_country_code",
            _levels(("exact", 0.96, 0.25), ("different", 0.04, 0.75)),
        ),
        Comparison(
            "registration_number",
            "identifier",
            "key_registration",
            _levels(
                ("exact", 0.95, 0.00001),
                ("one_typo", 0.02, 0.0001),
                ("two_typos", 0.01, 0.001),
                ("different", 0.02, 0.9989),
            ),
            veto=True,
        ),
    ),
    blocking_rules=(
        ("key_name",),
        ("domain",),
        ("phone_main",),
        ("key_registration",),
        ("name_first_token", "billing_country_code"),
        ("name_phonetic", "key_postcode"),
        ("name_first_token", "billing_city_key"),
        ("name_last_token", "key_postcode"),
        ("name_last_token", "billing_city_key"),
        ("key_street", "billing_country_code"),
    ),
    prior_weight=-10.0,
    match_weight=5.0,
    review_weight=-2.0,
    required_any=("name", "domain", "phone", "registration_number"),
)


CONTACT_SETTINGS = MatchSettings(
    object="contact",
    comparisons=(
        Comparison(
            "first_name",
            "first_name",
            "key_first",
            _levels(
                ("exact", 0.80, 0.01),
                ("nickname_or_initial", 0.08, 0.004),
                ("close", 0.06, 0.006),
                ("similar", 0.03, 0.02),
                ("different", 0.03, 0.96),
            ),
            term_frequency=True,
        ),
        Comparison(
            "last_name",
            "last_name",
            "key_last",
            _levels(
                ("exact", 0.84, 0.002),
                ("close", 0.10, 0.004),
                ("cut_short", 0.01, 0.001),
                ("similar", 0.02, 0.01),
                ("different", 0.03, 0.983),
            ),
            term_frequency=True,
        ),
        Comparison(
            "email",
            "email",
            "key_email",
            _levels(
                ("exact", 0.75, 0.0001),
                ("same_local_part", 0.08, 0.0002),
                ("one_typo", 0.04, 0.0001),
                ("different", 0.13, 0.9996),
            ),
        ),
        # A number with an extension reaches one person, not a switchboard.
        Comparison(
            "direct_phone",
            "exact",
            "phone_direct",
            _levels(("exact", 0.85, 0.00001), ("different", 0.15, 0.99999)),
        ),
        Comparison(
            "title",
            "title",
            "key_title",
            _levels(("exact", 0.6, 0.01), ("similar", 0.15, 0.01), ("different", 0.25, 0.98)),
            term_frequency=True,
        ),
        Comparison(
            "mobile",
            "phone",
            "mobile_phone",
            _levels(
                ("exact", 0.65, 0.0001), ("last_digits", 0.08, 0.0005), ("different", 0.27, 0.9994)
            ),
        ),
        Comparison(
            "birthdate",
            "date",
            "birthdate",
            _levels(
                ("exact", 0.93, 0.0003),
                ("one_off", 0.04, 0.002),
                ("two_of_three", 0.01, 0.004),
                ("different", 0.02, 0.9937),
            ),
        ),
        Comparison(
            "national_id",
            "identifier",
            "key_national_id",
            _levels(
                ("exact", 0.93, 0.00001),
                ("one_typo", 0.04, 0.0001),
                ("two_typos", 0.02, 0.001),
                ("different", 0.01, 0.9989),
            ),
            # No veto: ids typed by people (or scrambled in transit) differ for the same
            # person often enough; a difference weighs heavily against instead.
        ),
        # Workplace evidence: shared by colleagues, so it counts once, and weakly.
        Comparison(
            "account",
            "same_account",
            "account_cluster",
            _levels(("same", 0.75, 0.01), ("different", 0.25, 0.99)),
            group="workplace",
        ),
        Comparison(
            "phone",
            "phone",
            "phone_main",
            _levels(("exact", 0.6, 0.01), ("last_digits", 0.05, 0.005), ("different", 0.35, 0.985)),
            group="workplace",
        ),
        Comparison(
            "street",
            "street",
            "key_street",
            _levels(("close", 0.65, 0.004), ("similar", 0.1, 0.01), ("different", 0.25, 0.986)),
            group="workplace",
        ),
        Comparison(
            "postcode",
            "exact",
            "key_postcode",
            _levels(("exact", 0.8, 0.01), ("different", 0.2, 0.99)),
            group="workplace",
        ),
        Comparison(
            "city",
            "city",
            "mailing_city",
            _levels(("exact", 0.85, 0.04), ("different", 0.15, 0.96)),
            group="workplace",
        ),
    ),
    blocking_rules=(
        ("key_email",),
        ("mobile_phone",),
        ("key_national_id",),
        ("phone_direct",),
        ("email_local",),
        ("key_last", "first_initial"),
        ("last_phonetic", "first_phonetic"),
        ("last_phonetic", "birthdate"),
        ("key_first", "birthdate"),
        ("name_sorted",),
        ("key_last", "key_postcode"),
        ("key_first", "key_postcode"),
        # Both names mistyped: the birth date and where the person lives.
        ("birthdate", "key_postcode"),
        ("birthdate", "mailing_city_key"),
        ("key_title", "mailing_city_key"),
        # Names cut short or mistyped after their first letters, at the same address.
        # (Both names' first letters in one city reach no more duplicates in the public
        # sets and cost 12% more pairs on a million contacts: left out.)
        ("key_street", "first_prefix"),
        ("key_street", "last_prefix"),
        # Colleagues at one real-world company (across orgs once accounts resolve).
        ("account_cluster",),
    ),
    prior_weight=-10.0,
    # A match at 80% (2 bits): with m, u and the prior measured on the data the weight
    # is a calibrated probability, and stewards see the pairs just below in review.
    match_weight=2.0,
    review_weight=-1.0,
    # A name must agree, or an identifier only this person has (never a colleague's).
    required_any=("first_name", "last_name", "email", "mobile", "direct_phone", "national_id"),
    # Salesforce's own rule wants first AND last name. A first name that plainly differs
    # (no nickname, initial or typo explains it) rules a match out unless something of
    # the person agrees: a colleague with the same surname (family firms) shares the
    # account, the switchboard and the address, and a rare surname weighs a lot.
    required_all=("first_name",),
    required_all_waived_by=("email", "mobile", "direct_phone", "national_id", "birthdate"),
)

DEFAULT_SETTINGS = {"account": ACCOUNT_SETTINGS, "contact": CONTACT_SETTINGS}
