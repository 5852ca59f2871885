"""Preparing records: hostile values are cleaned or nulled and counted; records with
nothing to recognise them by are set aside with a reason."""

from __future__ import annotations

import datetime

import pandas as pd

from core.catalogue import CATALOGUE, FIELDS
from dedupe.prepare import prepare_accounts, prepare_contacts


def _frame(fields: tuple[str, ...], rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"org": "amer", "sfid": f"003Am{i:013d}", "systemmodstamp": None, "hc_lastop": None}
            | row
            for i, row in enumerate(rows)
        ]
    ).reindex(columns=["org", "sfid", *fields, "systemmodstamp", "hc_lastop"])


def _contacts(*rows: dict):
    return prepare_contacts(_frame(FIELDS["contact"], list(rows)), CATALOGUE["contact"].lengths)


def test_hostile_contact_values_are_cleaned_field_by_field_and_counted():
    prepared = _contacts(
        {
            "first_name": "\u202eAnna\x01\u200b",
            "last_name": "x" * 10_000,
            "email": "no-at-sign.example",
            "phone": "+++",
            "mobile_phone": "   ",
            "title": "🙂 مدير",
            "mailing_country": "??",
            "birthdate": "0001-01-01",
            "account_sfid": "not an id at all, far too long",
        },
        {"last_name": "Okafor", "birthdate": "9999-12-31", "email": "x@" + "a" * 80 + ".com"},
        {"last_name": "Rossi", "birthdate": "1980-02-30"},
        {"last_name": "Ito", "birthdate": "1975-06-01", "hc_lastop": "FAILED"},
    )
    records = prepared.records.set_index("sfid")
    first = records.iloc[0]
    assert first["first_name"] == "Anna"  # invisible and control characters gone
    assert len(first["last_name"]) == 80
    assert first["title"] == "🙂 مدير"  # emoji and right-to-left text kept as they are
    for column in ("email", "phone", "mobile_phone", "mailing_country", "birthdate"):
        assert first[column] is None, column
    assert first["account_sfid"] is None
    assert records["birthdate"].tolist()[1:] == [None, None, datetime.date(1975, 6, 1)]
    assert records["hc_failed"].tolist() == [False, False, False, True]
    assert prepared.cleaned == {
        "last_name truncated": 1,
        "email nulled": 2,
        "phone nulled": 1,
        "mobile_phone nulled": 1,
        "mailing_country nulled": 1,
        "birthdate nulled": 3,
        "account_sfid nulled": 1,
    }
    assert prepared.rejected.empty


def test_a_nameless_contact_is_resolved_when_something_personal_can_match_it():
    prepared = _contacts(
        {"first_name": "...", "last_name": "  ", "title": "Ghost"},  # nothing
        {"first_name": None, "last_name": None, "email": "grace@acme.example"},
        {"last_name": "??", "mobile_phone": "+44 7700 900123"},
        {"first_name": "-", "national_id": "AB123456C"},
        {"birthdate": "1970-01-01", "mailing_postcode": "69001"},
        {"birthdate": "1970-01-01"},  # a birth date alone is shared by too many
    )
    assert prepared.rejected["sfid"].tolist() == [f"003Am{0:013d}", f"003Am{5:013d}"]
    assert set(prepared.rejected["reason"]) == {"no_name"}
    assert prepared.rejected["detail"].iloc[0].startswith("first name '...', last name '  '")
    # What names nothing is not shown as a name either.
    assert prepared.records["last_name"].isna().all()
    assert prepared.records["first_name"].isna().all()


def test_accounts_need_a_name_a_website_or_a_registration_number():
    prepared = prepare_accounts(
        _frame(
            FIELDS["account"],
            [
                {"name": "---", "phone": "+33 1 23 45 67 89"},  # a switchboard is not enough
                {"name": None, "website": "https://www.acme.example/about"},
                {"name": "??", "registration_number": "552 100 554"},
                {"name": "GmbH", "employees": "-5", "annual_revenue": "1e999"},
                {"name": "GmbH", "website": "gmbh.example", "employees": "12"},
            ],
        ),
        CATALOGUE["account"].lengths,
    )
    # A legal form alone names no company either.
    assert prepared.rejected["sfid"].tolist() == [f"003Am{0:013d}", f"003Am{3:013d}"]
    assert prepared.rejected["detail"].iloc[0] == (
        "name '---', and no website or registration number"
    )
    records = prepared.records
    assert records["name"].tolist() == [None, None, "GmbH"]  # but is shown where kept
    assert records["employees"].tolist()[-1] == 12
    assert prepared.cleaned["employees nulled"] == 1
    assert prepared.cleaned["annual_revenue nulled"] == 1
