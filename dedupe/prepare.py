"""Turn a batch of staged records (unified field names, raw text) into unified records:
clean display values, typed numbers and dates, E.164 phones, ISO countries, and the
match keys the comparisons use.
"""

from __future__ import annotations

import pandas as pd

from dedupe import normalize as nz
from dedupe.model import ACCOUNT_FIELDS, CONTACT_FIELDS


def _truncate(series: pd.Series, length: int) -> pd.Series:
    # Salesforce field lengths; a longer value (a custom mapped column) is cut, not lost silently:
    # the source keeps it and provenance points there.
    return series.map(lambda v: v[:length] if isinstance(v, str) else v, na_action="ignore")


def _system(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    out["org"] = raw["org"]
    out["sfid"] = raw["sfid"]
    out["systemmodstamp"] = raw["systemmodstamp"]
    out["hc_failed"] = raw.get("hc_lastop", pd.Series(None, index=raw.index)).eq("FAILED")
    return out


def _completeness(frame: pd.DataFrame, fields: tuple[str, ...]) -> pd.Series:
    present = [f for f in fields if f in frame]
    return frame[present].notna().sum(axis=1).astype("int16")


def prepare_accounts(raw: pd.DataFrame) -> pd.DataFrame:
    out = _system(raw)
    country = nz.countries(raw["billing_country"])
    out["name"] = _truncate(nz.clean_text(raw["name"]), 255)
    out["website"] = _truncate(nz.clean_text(raw["website"]), 255)
    out["domain"] = nz.website_domains(out["website"])
    out["phone"] = nz.phones(raw["phone"], country["code"])
    out["billing_street"] = _truncate(nz.clean_text(raw["billing_street"]), 255)
    out["billing_city"] = _truncate(nz.clean_text(raw["billing_city"]), 80)
    out["billing_state"] = _truncate(nz.clean_text(raw["billing_state"]), 80)
    out["billing_postcode"] = _truncate(nz.clean_text(raw["billing_postcode"]), 20)
    # Unrecognised countries keep their cleaned text rather than vanish.
    out["billing_country"] = _truncate(
        country["name"].where(country["name"].notna(), nz.clean_text(raw["billing_country"])), 80
    )
    out["billing_country_code"] = country["code"]
    out["industry"] = _truncate(nz.clean_text(raw["industry"]), 255)
    out["type"] = _truncate(nz.clean_text(raw["type"]), 255)
    out["annual_revenue"] = nz.numbers(raw["annual_revenue"])
    out["currency"] = nz.currency_codes(raw["currency"])
    employees = nz.numbers(raw["employees"])
    out["employees"] = employees.where(employees.abs() < 2**31).round().astype("Int64")
    out["registration_number"] = _truncate(nz.clean_text(raw["registration_number"]), 80)
    out["key_name"] = nz.company_keys(out["name"])
    out["key_name_tokens"] = out["key_name"].map(
        lambda k: " ".join(sorted(set(k.split()))) if isinstance(k, str) else None
    )
    out["key_street"] = nz.street_keys(out["billing_street"])
    out["key_postcode"] = nz.postcode_keys(out["billing_postcode"])
    out["key_registration"] = nz.identifier_keys(out["registration_number"])
    out["completeness"] = _completeness(out, ACCOUNT_FIELDS)
    return out


def prepare_contacts(raw: pd.DataFrame) -> pd.DataFrame:
    out = _system(raw)
    country = nz.countries(raw["mailing_country"])
    out["first_name"] = _truncate(nz.clean_text(raw["first_name"]), 40)
    out["last_name"] = _truncate(nz.clean_text(raw["last_name"]), 80)
    out["email"] = _truncate(nz.email_addresses(raw["email"]), 80)
    out["phone"] = nz.phones(raw["phone"], country["code"])
    out["mobile_phone"] = nz.phones(raw["mobile_phone"], country["code"])
    out["title"] = _truncate(nz.clean_text(raw["title"]), 128)
    out["mailing_street"] = _truncate(nz.clean_text(raw["mailing_street"]), 255)
    out["mailing_city"] = _truncate(nz.clean_text(raw["mailing_city"]), 80)
    out["mailing_state"] = _truncate(nz.clean_text(raw["mailing_state"]), 80)
    out["mailing_postcode"] = _truncate(nz.clean_text(raw["mailing_postcode"]), 20)
    out["mailing_country"] = _truncate(
        country["name"].where(country["name"].notna(), nz.clean_text(raw["mailing_country"])), 80
    )
    out["mailing_country_code"] = country["code"]
    out["birthdate"] = nz.dates(raw["birthdate"])
    out["national_id"] = _truncate(nz.clean_text(raw["national_id"]), 80)
    out["account_sfid"] = _truncate(nz.clean_text(raw["account_sfid"]), 18)
    out["key_first"] = nz.name_keys(out["first_name"])
    out["key_last"] = nz.name_keys(out["last_name"])
    out["key_email"] = out["email"]
    out["key_street"] = nz.street_keys(out["mailing_street"])
    out["key_postcode"] = nz.postcode_keys(out["mailing_postcode"])
    out["key_national_id"] = nz.identifier_keys(out["national_id"])
    out["completeness"] = _completeness(out, CONTACT_FIELDS)
    return out


PREPARERS = {"account": prepare_accounts, "contact": prepare_contacts}
