"""The generic matcher: any object's records cleaned by their fields' kinds, keyed and
compared by them; and custom fields on accounts and contacts cleaned the same way."""

from __future__ import annotations

import datetime

import pandas as pd

from core.catalogue import ACCOUNT
from dedupe import matcher
from dedupe.generic import GenericMatcher

FIELDS = (
    ("name", "company"),
    ("email", "email"),
    ("phone", "phone"),
    ("country", "country_code"),
    ("active", "boolean"),
    ("seats", "integer"),
    ("revenue", "number"),
    ("since", "date"),
    ("renewed", "datetime"),
    ("account_sfid", "sfid"),
    ("tier", "text"),
)
PARTNER = GenericMatcher("partner", FIELDS, ("name", "email"), (("tier", 5), ("name", 80)))


def _raw(**values) -> pd.DataFrame:
    row = {"org": "amer", "sfid": "a0P000000000000001", "systemmodstamp": None}
    row["hc_lastop"] = "SYNCED"
    row |= {name: None for name, _ in FIELDS} | values
    return pd.DataFrame([row])


def test_each_field_is_cleaned_by_its_kind():
    prepared = PARTNER.prepare(
        _raw(
            name="  Alder  Systems GmbH ",
            email="Sales@Alder.Example ",
            phone="030 1234567",
            country="Germany",
            active="TRUE",
            seats="12.0",
            revenue="1e6",
            since="2019-03-01",
            renewed="2024-05-06T07:08:09.000+0000",
            account_sfid="001Am00000AbCdEfGh",
            tier="Platinum partner",
        )
    )
    record = prepared.records.iloc[0]
    assert record["name"] == "Alder Systems GmbH"
    assert record["email"] == "sales@alder.example"
    assert record["phone"] == "+49301234567"  # read in the record's country
    assert record["country"] == "DE"
    assert record["active"] is True
    assert record["seats"] == 12
    assert record["revenue"] == 1e6
    assert record["since"] == datetime.date(2019, 3, 1)
    assert record["renewed"] == datetime.datetime(2024, 5, 6, 7, 8, 9)
    assert record["account_sfid"] == "001Am00000AbCdEfGh"
    assert record["tier"] == "Plati"  # cut to its length, and counted
    assert prepared.cleaned["tier truncated"] == 1
    # One key per compared field: the company without its legal form, the e-mail.
    assert record["key_name"] == "alder systems"
    assert record["key_email"] == "sales@alder.example"


def test_unreadable_values_are_nulled_and_counted():
    prepared = PARTNER.prepare(_raw(name="Alder", active="maybe", seats="lots", since="31/02"))
    record = prepared.records.iloc[0]
    assert record["active"] is None and pd.isna(record["seats"]) and record["since"] is None
    assert {"active nulled", "seats nulled", "since nulled"} <= set(prepared.cleaned)


def test_a_record_with_nothing_to_match_is_set_aside_with_a_reason():
    prepared = PARTNER.prepare(_raw(name="---", tier="Gold"))
    assert prepared.records.empty
    rejected = prepared.rejected.iloc[0]
    assert rejected["reason"] == "nothing_to_match"
    assert "name '---'" in rejected["detail"] and "email empty" in rejected["detail"]


def test_its_settings_compare_and_block_by_kind():
    settings = PARTNER.settings
    assert [(c.name, c.kind, c.column) for c in settings.comparisons] == [
        ("name", "company", "key_name"),
        ("email", "email", "key_email"),
    ]
    assert settings.blocking_rules == (
        ("key_name",),
        ("key_name_coarse",),
        ("key_email",),
        ("key_email_coarse",),
    )
    # A session of EM on the coarse key leaves the name's comparison out.
    assert dict(settings.key_sources)["key_name_coarse"] == frozenset({"key_name"})
    features = PARTNER.features(PARTNER.prepare(_raw(name="Alder Systems")).records)
    assert features["key_name_coarse"].iloc[0] is not None


def test_an_object_that_is_not_resolved_is_only_cleaned():
    linked = matcher.generic("opportunity", (("amount", "number"),), (), {})
    assert linked.settings is None and linked.match_keys == ()
    raw = pd.DataFrame([{"org": "amer", "sfid": "006Am00000AbCdEfGh", "amount": "12.5"}])
    prepared = linked.prepare(raw.assign(systemmodstamp=None, hc_lastop=None), None)
    assert prepared.rejected.empty and prepared.records["amount"].iloc[0] == 12.5


def test_custom_fields_on_accounts_are_cleaned_by_their_kinds():
    tuned = matcher.tuned("account", (("segment", "text"), ("partner_since", "date")))
    row = {"org": "amer", "sfid": "001Am00000AbCdEfGh", "systemmodstamp": None}
    row |= {"hc_lastop": "SYNCED", **{f: None for f in ACCOUNT.source_fields}}
    row |= {"name": "Alder Systems", "segment": " Mid  market ", "partner_since": "2020-01-31"}
    prepared = tuned.prepare(pd.DataFrame([row]), ACCOUNT.lengths)
    record = prepared.records.iloc[0]
    assert record["key_name"] == "alder systems"  # the tuned preparer's work
    assert record["segment"] == "Mid market"
    assert record["partner_since"] == datetime.date(2020, 1, 31)
