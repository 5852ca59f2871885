"""Comparison levels on literal left/right values."""

import datetime as dt

import numpy as np

from dedupe import compare


def _levels(fn, pairs):
    left = np.array([a for a, _ in pairs], dtype=object)
    right = np.array([b for _, b in pairs], dtype=object)
    return fn(left, right).tolist()


def test_first_name_levels():
    assert _levels(
        compare.first_name,
        [
            ("robert", "robert"),
            ("robert", "bob"),
            ("r", "robert"),
            ("zorander", "zorandar"),
            ("bunjamin", "benjmain"),
            ("robert", "susan"),
            (None, "robert"),
            ("samuel", "sa"),  # cut short
            ("samuel", "s"),  # an initial
        ],
    ) == [0, 1, 1, 2, 3, 4, compare.NULL, 1, 1]


def test_names_that_stand_for_several_are_variants_when_they_share_one():
    # 'ed' and 'ted' both stand for edward (and 'ed' for seven more names).
    assert _levels(
        compare.first_name,
        [("ed", "ted"), ("teddy", "theodore"), ("al", "ted"), ("ted", "t"), ("ted", "e")],
    ) == [1, 1, 4, 1, 4]


def test_last_name_levels():
    assert _levels(
        compare.last_name,
        [
            ("smith", "smith"),
            ("schmidt", "schmitt"),
            ("walker", "wakler"),
            ("kennedy", "ke"),  # cut off on entry
            ("smith", "jones"),
            ("smith", None),
        ],
    ) == [0, 1, 1, 2, 4, compare.NULL]


def test_company_levels():
    assert _levels(
        compare.company,
        [
            ("acme", "acme"),
            ("international business machines", "ibm"),
            ("northwind traders", "northwind trader"),
            ("acme logistics", "zenith pharma"),
        ],
    ) == [0, 1, 1, 3]


def test_phone_and_date_levels():
    assert _levels(
        compare.phone,
        [
            ("+14155550132", "+14155550132"),
            ("+14155550132", "+4415550132"),
            ("+14155550132", "+14155559999"),
        ],
    ) == [0, 1, 2]
    assert _levels(
        compare.date,
        [
            (dt.date(1980, 3, 4), dt.date(1980, 3, 4)),
            (dt.date(1980, 3, 4), dt.date(1980, 4, 3)),
            (dt.date(1980, 3, 4), dt.date(1981, 3, 4)),
            (dt.date(1980, 3, 4), dt.date(1990, 7, 9)),
            (dt.date(1980, 3, 4), dt.date(1980, 3, 14)),
            (dt.date(1980, 3, 4), dt.date(1980, 3, 15)),
            (dt.date(1980, 3, 4), dt.date(1981, 4, 3)),
            (dt.date(1980, 3, 4), dt.date(1995, 3, 4)),  # the year entered wrong
        ],
    ) == [0, 1, 1, 3, 1, 2, 3, 2]


def test_email_levels_tell_a_moved_mailbox_and_a_mistyped_domain_from_another_person():
    assert _levels(
        compare.email,
        [
            ("logan776212@proton.me", "logan776212@proton.me"),
            ("logan776212@proton.me", "logan776212@example.com"),  # same person, other box
            ("info@acme.com", "info@acme.con"),  # a domain mistyped
            ("info@acme.com", "info@zenith.com"),  # a role mailbox names nobody
            ("anna@acme.com", "peter@acme.com"),
            ("sandra.lowery@acme.com", "sandra.lowery@zenith.com"),  # a name: anyone's
            ("anna@acme.com", None),
        ],
    ) == [0, 1, 2, 3, 3, 3, compare.NULL]


def test_title_levels():
    assert _levels(
        compare.title,
        [
            ("vp sales", "vp sales"),
            ("sales vp", "vp sales"),
            ("vp sales", "chief financial officer"),
        ],
    ) == [0, 1, 2]


def test_empty_input():
    empty = np.array([], dtype=object)
    for fn in compare.COMPARATORS.values():
        assert fn(empty, empty).tolist() == []


def test_street_with_another_house_number_is_not_close():
    assert _levels(
        compare.street,
        [
            ("266 market st", "266 market st"),
            ("2 market st", "266 market st"),
            ("market st", "266 market st"),
            ("12 king st", "99 queen rd"),
        ],
    ) == [0, 1, 0, 2]
