"""Turn a batch of staged records (unified field names, raw text) into unified records:
clean display values, typed numbers and dates, E.164 phones, ISO countries, and the
match keys the comparisons use.

Source values are whatever an org holds. A value that cannot be stored or compared as
it is (too long, unparseable, out of range, made of punctuation) is cut or nulled
field by field and counted; a record that cannot be matched at all (nothing to
recognise it by) is set aside with a reason rather than resolved.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dedupe import normalize as nz

# A birth date outside these is a placeholder or a typo (0001-01-01, 9999-12-31).
EARLIEST_BIRTHDATE = datetime.date(1900, 1, 1)
# Shown in a rejection's detail: enough of a value to recognise it.
DETAIL_VALUE_LENGTH = 40

REJECTED_COLUMNS = ("org", "sfid", "reason", "detail")
# Columns of a staged batch that are not the object's fields.
SYSTEM_COLUMNS = ("org", "sfid", "systemmodstamp", "hc_lastop")


@dataclass
class Prepared:
    """A batch normalised: the records to resolve, the ones set aside, and how many
    values of each field were cleaned (`<field> nulled`, `<field> truncated`)."""

    records: pd.DataFrame
    rejected: pd.DataFrame
    cleaned: Counter = field(default_factory=Counter)


class _Cleaner:
    """Cleans one batch's fields and counts the values it had to cut."""

    def __init__(self, lengths: Mapping[str, int] | None) -> None:
        self.lengths = lengths or {}
        self.counts: Counter = Counter()

    def truncate(self, name: str, series: pd.Series) -> pd.Series:
        # Salesforce field lengths; a longer value (a custom mapped column) is cut, not
        # lost silently: the source keeps it and provenance points there.
        length = self.lengths.get(name)
        if length is None:
            return series
        longer = series.str.len().gt(length)
        if longer.any():
            self.counts[f"{name} truncated"] += int(longer.sum())
            series = series.where(~longer, series.str.slice(0, length))
        return series

    def text(self, name: str, raw: pd.Series) -> pd.Series:
        return self.truncate(name, nz.clean_text(raw))

    def fits(self, name: str, series: pd.Series) -> pd.Series:
        """Values longer than the field holds are null (a cut e-mail is someone else's)."""
        length = self.lengths.get(name)
        return series if length is None else series.where(~series.str.len().gt(length), None)

    def count_nulled(self, raw: pd.DataFrame, out: pd.DataFrame, fields: list[str]) -> None:
        """Values the source had that the unified record lost (blank, unparseable, out
        of range)."""
        for name in fields:
            lost = int(
                np.count_nonzero(~pd.isna(raw[name].to_numpy()) & pd.isna(out[name].to_numpy()))
            )
            if lost:
                self.counts[f"{name} nulled"] += lost


def _system(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    out["org"] = raw["org"]
    out["sfid"] = raw["sfid"]
    out["systemmodstamp"] = raw["systemmodstamp"]
    out["hc_failed"] = raw.get("hc_lastop", pd.Series(None, index=raw.index)).eq("FAILED")
    return out


def _fields(raw: pd.DataFrame) -> list[str]:
    """The object's fields: the batch's columns other than the system ones."""
    return [c for c in raw.columns if c not in SYSTEM_COLUMNS]


def _completeness(frame: pd.DataFrame, fields: list[str]) -> pd.Series:
    present = [f for f in fields if f in frame]
    return frame[present].notna().sum(axis=1).astype("int16")


def _country(clean: _Cleaner, name: str, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Display name and alpha-2 code. An unrecognised country keeps its cleaned text
    rather than vanish, unless it has no letter or digit at all ('??')."""
    country = nz.countries(raw)
    # Only countries it did not recognise (few) are shown as typed.
    unknown = country["name"].isna() & raw.notna()
    display = country["name"].copy()
    if unknown.any():
        typed = nz.clean_text(raw[unknown])
        display[unknown] = typed.where(nz.fold_series(typed).notna(), None)
    return clean.truncate(name, display), country["code"]


def _finite(series: pd.Series) -> pd.Series:
    return series.where(np.isfinite(series.astype("float64")))


def _shown(value: object) -> str:
    """A raw value as a rejection's detail shows it: quoted, cut."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    return repr(str(value)[:DETAIL_VALUE_LENGTH])


def _rejected(
    raw: pd.DataFrame, mask: pd.Series, reason: str, detail: Callable[[pd.Series], str]
) -> pd.DataFrame:
    """The masked records as rejections; `detail` describes one from its raw row."""
    rows = raw.loc[mask, ["org", "sfid"]].copy()
    rows["reason"] = reason
    rows["detail"] = [detail(row) for _, row in raw.loc[mask].iterrows()] if len(rows) else []
    return rows.loc[:, list(REJECTED_COLUMNS)]


def prepare_accounts(raw: pd.DataFrame, lengths: Mapping[str, int] | None = None) -> Prepared:
    """`lengths`: each text field's length (longer values are cut); none: kept whole."""
    clean = _Cleaner(lengths)
    out = _system(raw)
    out["billing_country"], out["billing_country_code"] = _country(
        clean, "billing_country", raw["billing_country"]
    )
    out["name"] = clean.text("name", raw["name"])
    out["website"] = clean.text("website", raw["website"])
    out["domain"] = nz.website_domains(out["website"])
    out["phone"] = nz.phones(raw["phone"], out["billing_country_code"])
    out["billing_street"] = clean.text("billing_street", raw["billing_street"])
    out["billing_city"] = clean.text("billing_city", raw["billing_city"])
    out["billing_state"] = clean.text("billing_state", raw["billing_state"])
    out["billing_postcode"] = clean.text("billing_postcode", raw["billing_postcode"])
    out["industry"] = clean.text("industry", raw["industry"])
    out["type"] = clean.text("type", raw["type"])
    out["annual_revenue"] = _finite(nz.numbers(raw["annual_revenue"]))
    out["currency"] = nz.currency_codes(raw["currency"])
    employees = nz.numbers(raw["employees"])
    out["employees"] = (
        employees.where((employees >= 0) & (employees < 2**31)).round().astype("Int64")
    )
    out["registration_number"] = clean.text("registration_number", raw["registration_number"])
    out["key_name"] = nz.company_keys(out["name"])
    # A name without a letter or digit ('---', '??') names nothing. (A name of legal
    # forms alone, 'GmbH', has no match key but is still shown.)
    keyless = out["key_name"].isna() & out["name"].notna()
    if keyless.any():
        unreadable = keyless & nz.fold_series(out["name"].where(keyless, None)).isna()
        out.loc[unreadable, "name"] = None
    out["key_name_tokens"] = nz.sorted_tokens(out["key_name"])
    out["key_street"] = nz.street_keys(out["billing_street"])
    out["key_postcode"] = nz.postcode_keys(out["billing_postcode"])
    out["key_registration"] = nz.identifier_keys(out["registration_number"])
    out["completeness"] = _completeness(out, _fields(raw))
    clean.count_nulled(raw, out, _fields(raw))

    # Without a name, a website or a registration number nothing tells this company
    # from another (a switchboard number is shared by a group's companies).
    unmatchable = out["key_name"].isna() & out["key_registration"].isna() & out["domain"].isna()
    rejected = _rejected(
        raw,
        unmatchable,
        "no_name",
        lambda r: f"name {_shown(r['name'])}, and no website or registration number",
    )
    return Prepared(out[~unmatchable], rejected, clean.counts)


def prepare_contacts(raw: pd.DataFrame, lengths: Mapping[str, int] | None = None) -> Prepared:
    """`lengths`: each text field's length (longer values are cut); none: kept whole."""
    clean = _Cleaner(lengths)
    out = _system(raw)
    out["mailing_country"], out["mailing_country_code"] = _country(
        clean, "mailing_country", raw["mailing_country"]
    )
    out["first_name"] = clean.text("first_name", raw["first_name"])
    out["last_name"] = clean.text("last_name", raw["last_name"])
    out["email"] = clean.fits("email", nz.email_addresses(raw["email"]))
    out["phone"] = nz.phones(raw["phone"], out["mailing_country_code"])
    out["mobile_phone"] = nz.phones(raw["mobile_phone"], out["mailing_country_code"])
    out["title"] = clean.text("title", raw["title"])
    out["mailing_street"] = clean.text("mailing_street", raw["mailing_street"])
    out["mailing_city"] = clean.text("mailing_city", raw["mailing_city"])
    out["mailing_state"] = clean.text("mailing_state", raw["mailing_state"])
    out["mailing_postcode"] = clean.text("mailing_postcode", raw["mailing_postcode"])
    out["birthdate"] = nz.dates(
        raw["birthdate"], earliest=EARLIEST_BIRTHDATE, latest=datetime.date.today()
    )
    out["national_id"] = clean.text("national_id", raw["national_id"])
    out["account_sfid"] = nz.salesforce_ids(raw["account_sfid"])
    out["key_first"] = nz.name_keys(out["first_name"])
    out["key_last"] = nz.name_keys(out["last_name"])
    # A name without a letter or digit ('---', '??') names nothing.
    out["first_name"] = out["first_name"].where(out["key_first"].notna(), None)
    out["last_name"] = out["last_name"].where(out["key_last"].notna(), None)
    out["key_email"] = out["email"]
    out["key_street"] = nz.street_keys(out["mailing_street"])
    out["key_postcode"] = nz.postcode_keys(out["mailing_postcode"])
    out["key_national_id"] = nz.identifier_keys(out["national_id"])
    out["completeness"] = _completeness(out, _fields(raw))
    clean.count_nulled(raw, out, _fields(raw))

    # A nameless contact still matches its duplicates (and takes its name from them)
    # through what only this person has: an e-mail, a mobile, a national id, or a
    # birth date together with an address. With none of these it cannot be resolved.
    named = out["key_first"].notna() | out["key_last"].notna()
    recognisable = (
        out["key_email"].notna()
        | out["mobile_phone"].notna()
        | out["key_national_id"].notna()
        | (out["birthdate"].notna() & (out["key_street"].notna() | out["key_postcode"].notna()))
    )
    unmatchable = ~named & ~recognisable
    rejected = _rejected(
        raw,
        unmatchable,
        "no_name",
        lambda r: (
            f"first name {_shown(r['first_name'])}, last name {_shown(r['last_name'])}, "
            "and no e-mail, mobile, national id, or birth date with an address"
        ),
    )
    return Prepared(out[~unmatchable], rejected, clean.counts)


PREPARERS = {"account": prepare_accounts, "contact": prepare_contacts}
# The match keys each preparer adds beside the object's fields.
MATCH_KEYS: dict[str, tuple[str, ...]] = {
    "account": ("key_name", "key_name_tokens", "key_street", "key_postcode", "key_registration"),
    "contact": (
        "key_first",
        "key_last",
        "key_email",
        "key_street",
        "key_postcode",
        "key_national_id",
    ),
}
