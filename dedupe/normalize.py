"""Normalisers: raw CRM values to clean display values and comparable match keys.

Each function takes a pandas Series and returns one (or a frame), so a batch of
records is normalised column by column. Expensive parsers (phone numbers,
countries) run once per distinct value.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import lru_cache

import jellyfish
import numpy as np
import pandas as pd
import phonenumbers
import pycountry
from unidecode import unidecode

_WHITESPACE = re.compile(r"\s+")
# Control characters, zero-width characters and bidirectional overrides: invisible,
# they make equal values differ and can reorder what a reader sees.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_CODE = re.compile(r"[^0-9A-Z]")
_DOTTED_INNER = re.compile(r"\b([a-z])\.(?=[a-z]\.)")
_DOTTED_LAST = re.compile(r"\b([a-z])\.")
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def _map_distinct(series: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Apply `fn` once per distinct non-null value (CRM columns repeat a lot)."""
    # As plain objects: iterating over a pandas string array costs a call per value.
    values = np.asarray(series.dropna().unique(), dtype=object)
    lookup = {value: fn(value) for value in values}
    out = series.map(lookup, na_action="ignore").astype(object)
    return out.where(out.notna(), None)


def clean_text(series: pd.Series) -> pd.Series:
    """Trim and collapse white space; empty strings become null."""

    def clean(value: str) -> str | None:
        text = _WHITESPACE.sub(" ", _INVISIBLE.sub("", str(value))).strip()
        return text or None

    return _map_distinct(series, clean)


def fold(value: str) -> str:
    """Lower-case ASCII with punctuation folded to single spaces ('Müller-Lüdenscheidt' ->
    'muller ludenscheidt')."""
    return _NON_ALNUM.sub(" ", unidecode(value).lower()).strip()


def fold_series(series: pd.Series) -> pd.Series:
    return _map_distinct(series, lambda v: fold(v) or None)


# ---------------------------------------------------------------- companies

# Legal forms in many jurisdictions, in folded form. Matching drops them so
# "ACME GmbH" and "Acme" compare equal; the display name keeps them.
_LEGAL_FORMS = """
    inc incorporated corp corporation co company cos llc llp lp ltd limited plc pllc pc
    gmbh mbh ag kg kgaa ohg ug ev gbr se sa sas sasu sarl sca snc eurl spa srl sapa
    bv nv vof cv ab oy oyj as asa aps a s ks hf kft zrt nyrt sro spol sp z oo zoo
    pty pvt kk gk yk tmk bhd sdn pte pjsc ojsc zao ooo oao ad doo dd
    sl slu sll scp ltda eireli cia me epp mei de rl sab
"""
LEGAL_SUFFIXES: frozenset[str] = frozenset(_LEGAL_FORMS.split())
_COMPANY_NOISE = frozenset({"the", "and", "group", "holding", "holdings"})


def company_key(value: str) -> str | None:
    """Comparable company name: folded, '&' as 'and', legal forms and 'The' dropped."""
    # (ASCII as it is: unidecode would return it unchanged.)
    text = value if value.isascii() else unidecode(value)
    text = text.lower().replace("&", " and ").replace("+", " and ")
    if "." in text:
        # Dotted abbreviations ("S.A.", "N.V.") collapse before tokenising.
        text = _DOTTED_INNER.sub(r"\1", text)
        text = _DOTTED_LAST.sub(r"\1", text)
    tokens = _NON_ALNUM.sub(" ", text).split()
    while tokens and tokens[-1] in LEGAL_SUFFIXES:
        tokens.pop()
    # Strip trailing legal forms written as two tokens, e.g. "s a", "sp z o o".
    kept = [t for t in tokens if t not in _COMPANY_NOISE]
    key = " ".join(kept or tokens)
    return key or None


def company_keys(series: pd.Series) -> pd.Series:
    return _map_distinct(series, company_key)


def sorted_tokens(series: pd.Series) -> pd.Series:
    """Each key's distinct words in order ('b a a' -> 'a b'), so word order does not count."""
    return _map_distinct(series, lambda k: " ".join(sorted(set(k.split()))))


def acronym(key: str | None) -> str | None:
    """'international business machines' -> 'ibm' (for names of three or more words)."""
    if not key:
        return None
    words = key.split()
    return "".join(w[0] for w in words) if len(words) >= 3 else None


def website_domain(value: str) -> str | None:
    """'https://www.Acme.co.uk/about' -> 'acme.co.uk'."""
    text = value.strip().lower()
    if "://" in text:
        text = _URL_SCHEME.sub("", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split("@")[-1]
    text = text.split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text if "." in text and " " not in text else None


def website_domains(series: pd.Series) -> pd.Series:
    return _map_distinct(series, website_domain)


# ---------------------------------------------------------------- people


def name_key(value: str) -> str | None:
    return fold(value) or None


def name_keys(series: pd.Series) -> pd.Series:
    return _map_distinct(series, name_key)


def phonetic(value: str | None) -> str | None:
    if not value:
        return None
    return jellyfish.metaphone(value.replace(" ", "")) or None


def email_address(value: str) -> str | None:
    text = _INVISIBLE.sub("", value).strip().lower().removeprefix("mailto:")
    return text if _EMAIL.match(text) else None


def email_addresses(series: pd.Series) -> pd.Series:
    return _map_distinct(series, email_address)


# ---------------------------------------------------------------- countries

# Spellings CRM users type that pycountry does not know by itself.
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u k": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "deutschland": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "germania": "DE",
    "brd": "DE",
    "frankreich": "FR",
    "espana": "ES",
    "espagne": "ES",
    "spanien": "ES",
    "italia": "IT",
    "italien": "IT",
    "nederland": "NL",
    "holland": "NL",
    "the netherlands": "NL",
    "niederlande": "NL",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "osterreich": "AT",
    "belgie": "BE",
    "belgique": "BE",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "polska": "PL",
    "ceska republika": "CZ",
    "czech republic": "CZ",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "iran": "IR",
    "vietnam": "VN",
    "taiwan": "TW",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "syria": "SY",
    "laos": "LA",
    "moldova": "MD",
    "brasil": "BR",
    "mexique": "MX",
    "nippon": "JP",
    "nihon": "JP",
    "zhongguo": "CN",
    "prc": "CN",
    "uae": "AE",
    "turkey": "TR",
    "turkiye": "TR",
    "ivory coast": "CI",
    "cote d ivoire": "CI",
}


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a country written any common way, else None."""
    key = fold(value)
    if not key:
        return None
    if key in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[key]
    if len(key) == 2:
        found = pycountry.countries.get(alpha_2=key.upper())
        return found.alpha_2 if found else None
    if len(key) == 3:
        found = pycountry.countries.get(alpha_3=key.upper())
        if found:
            return found.alpha_2
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError:
        pass
    for country in pycountry.countries:
        names = [
            country.name,
            getattr(country, "common_name", ""),
            getattr(country, "official_name", ""),
        ]
        if any(fold(n) == key for n in names if n):
            return country.alpha_2
    return None


def country_name(code: str | None) -> str | None:
    if not code:
        return None
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    return getattr(country, "common_name", None) or country.name


def countries(series: pd.Series) -> pd.DataFrame:
    """Columns `code` (alpha-2) and `name` (English short name) for raw country values."""
    codes = _map_distinct(series, country_code)
    names = _map_distinct(codes, country_name)
    return pd.DataFrame({"code": codes, "name": names}, index=series.index)


# ---------------------------------------------------------------- phones


@lru_cache(maxsize=200_000)
def e164(raw: str, region: str | None) -> str | None:
    """E.164 for a phone written any way, using the record's country for national numbers;
    an extension ('x6422', 'ext. 6422') follows as ';ext=6422' (RFC 3966): a number
    with an extension reaches one person, the same number without reaches a switchboard."""
    text = raw.strip()
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted}{EXTENSION}{number.extension}" if number.extension else formatted


EXTENSION = ";ext="


def main_number(phone: str | None) -> str | None:
    """The number without its extension."""
    return phone.split(EXTENSION, 1)[0] if phone else None


# Addresses that reach a function, not a person: their local part says nothing of who.
ROLE_MAILBOXES = frozenset(
    {
        "info",
        "sales",
        "admin",
        "office",
        "contact",
        "contacts",
        "hello",
        "support",
        "service",
        "team",
        "mail",
        "enquiries",
        "inquiries",
        "billing",
        "accounts",
        "accounting",
        "finance",
        "hr",
        "jobs",
        "careers",
        "marketing",
        "press",
        "noreply",
        "no-reply",
        "webmaster",
        "postmaster",
        "reception",
        "help",
        "orders",
    }
)


def local_part(email: str | None) -> str | None:
    """The part before the @, unless a role mailbox's ('info') or too short to say
    anything: a key that finds the same mailbox at a mistyped or another domain."""
    if not email or "@" not in email:
        return None
    local = email.split("@", 1)[0]
    return None if len(local) < 3 or local in ROLE_MAILBOXES else local


def personal_local_part(email: str | None) -> str | None:
    """The part before the @ when it is one person's whatever the domain: letters and
    digits together ('logan776212'). A local part made of a name ('sandra.lowery') is
    shared by everyone of that name at their own companies, and the names are compared
    anyway; a role mailbox ('info') names nobody."""
    local = local_part(email)
    if local is None or len(local) < 5:
        return None
    if not (_HAS_DIGIT.search(local) and _HAS_LETTER.search(local)):
        return None
    return local


_HAS_DIGIT = re.compile(r"\d")
_HAS_LETTER = re.compile(r"[a-z]")


def phones(series: pd.Series, regions: pd.Series) -> pd.Series:
    """E.164 numbers; `regions` holds each record's alpha-2 country (or null). Each
    distinct (number, country) is parsed once, and the results placed by codes."""
    raw_codes, raw_values = pd.factorize(series.to_numpy(dtype=object))
    region_codes, region_values = pd.factorize(regions.to_numpy(dtype=object))
    out = np.full(len(series), None, dtype=object)
    present = raw_codes >= 0
    if present.any():
        width = len(region_values) + 1  # region code + 1: 0 is no region
        pairs = raw_codes[present].astype(np.int64) * width + (region_codes[present] + 1)
        distinct, inverse = np.unique(pairs, return_inverse=True)
        parsed = np.empty(len(distinct), dtype=object)
        for index, pair in enumerate(distinct.tolist()):
            region = region_values[pair % width - 1] if pair % width else None
            parsed[index] = e164(
                str(raw_values[pair // width]), region if isinstance(region, str) else None
            )
        out[present] = parsed[inverse]
    return pd.Series(out, index=series.index, dtype=object)


# ---------------------------------------------------------------- addresses

_STREET_WORDS = {
    "street": "st",
    "str": "st",
    "strasse": "str",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "square": "sq",
    "court": "ct",
    "highway": "hwy",
    "suite": "ste",
    "floor": "fl",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "apartment": "apt",
    "building": "bldg",
    "crescent": "cres",
    "terrace": "tce",
    "parkway": "pkwy",
    "circuit": "cct",
}


def street_key(value: str) -> str | None:
    tokens = fold(value).split()
    return " ".join(_STREET_WORDS.get(t, t) for t in tokens) or None


def street_keys(series: pd.Series) -> pd.Series:
    return _map_distinct(series, street_key)


def postcode_key(value: str) -> str | None:
    return _NOT_CODE.sub("", unidecode(value).upper()) or None


def postcode_keys(series: pd.Series) -> pd.Series:
    return _map_distinct(series, postcode_key)


_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def salesforce_ids(series: pd.Series) -> pd.Series:
    """Record ids (15 or 18 letters and digits, as typed); anything else is null."""
    return _map_distinct(series, lambda v: v.strip() if _SALESFORCE_ID.match(v.strip()) else None)


def identifier_key(value: str) -> str | None:
    """Registration numbers, national ids: letters and digits only, upper-case."""
    return postcode_key(value)


def identifier_keys(series: pd.Series) -> pd.Series:
    return _map_distinct(series, identifier_key)


# ---------------------------------------------------------------- numbers, dates, codes


def numbers(series: pd.Series) -> pd.Series:
    cleaned = series.astype(object).where(series.notna(), None)
    return pd.to_numeric(
        cleaned.map(lambda v: str(v).replace(",", "").strip() if v is not None else None),
        errors="coerce",
    )


def dates(
    series: pd.Series,
    earliest: datetime.date | None = None,
    latest: datetime.date | None = None,
) -> pd.Series:
    """ISO dates (Connect stores `date` columns as 'YYYY-MM-DD'); anything else, and
    dates outside [earliest, latest], is null."""
    # As UTC: a value written with an offset must not make the column tz-aware by halves.
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
    keep = parsed.notna()
    if earliest is not None:
        keep &= parsed >= pd.Timestamp(earliest, tz="UTC")
    if latest is not None:
        keep &= parsed <= pd.Timestamp(latest, tz="UTC")
    return parsed.dt.date.astype(object).where(keep, None)


def currency_codes(series: pd.Series) -> pd.Series:
    def code(value: str) -> str | None:
        text = value.strip().upper()
        return text if pycountry.currencies.get(alpha_3=text) else None

    return _map_distinct(series, code)
