"""Derived columns that blocking rules and comparators use, computed once per record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.normalize import EXTENSION, acronym, fold, local_part, main_number, phonetic


def _first_token(key: object) -> str | None:
    return key.split()[0] if isinstance(key, str) and key else None


def _map(series: pd.Series, *fns) -> list[pd.Series]:
    """`fn(value)` for each of `fns`, worked out once per distinct value (records repeat
    names and cities); None stays None."""
    codes, uniques = pd.factorize(series.to_numpy(dtype=object))
    out = []
    for fn in fns:
        # Code -1 (null) picks the None at the end.
        mapped = np.empty(len(uniques) + 1, dtype=object)
        mapped[:-1] = [fn(v) for v in uniques]
        mapped[pd.isna(mapped)] = None
        out.append(pd.Series(mapped[codes], index=series.index, dtype=object))
    return out


def account_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    (
        out["name_first_token"],
        out["name_last_token"],
        out["name_phonetic"],
        out["name_acronym"],
    ) = _map(
        out["key_name"],
        _first_token,
        lambda k: k.split()[-1] if k else None,
        lambda k: phonetic(" ".join(k.split()[:2])),
        acronym,
    )
    (out["billing_city_key"],) = _map(out["billing_city"], lambda v: fold(v) or None)
    (out["phone_main"],) = _map(out["phone"], main_number)
    return out


def _sorted_pair(first: pd.Series, last: pd.Series) -> pd.Series:
    """ "a b" from two columns, the smaller first (so swapped names agree); None where
    either is missing."""
    both = (first.notna() & last.notna()).to_numpy()
    a = first.to_numpy(dtype=object)[both]
    b = last.to_numpy(dtype=object)[both]
    out = np.full(len(first), None, dtype=object)
    first_smaller = a <= b
    out[both] = np.where(first_smaller, a, b) + " " + np.where(first_smaller, b, a)
    return pd.Series(out, index=first.index, dtype=object)


def contact_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["first_initial"], out["first_phonetic"] = _map(out["key_first"], lambda k: k[0], phonetic)
    (out["last_phonetic"],) = _map(out["key_last"], phonetic)
    out["name_sorted"] = _sorted_pair(out["key_first"], out["key_last"])
    (out["mailing_city_key"],) = _map(out["mailing_city"], lambda v: fold(v) or None)
    out["phone_main"], out["phone_direct"] = _map(
        out["phone"], main_number, lambda v: v if EXTENSION in v else None
    )
    (out["email_local"],) = _map(out["key_email"], local_part)
    (out["key_title"],) = _map(out["title"], lambda v: fold(v) or None)
    # The first letters of both names: reaches names cut short or mistyped further on.
    (out["first_prefix"],) = _map(out["key_first"], lambda k: k[:2])
    (out["last_prefix"],) = _map(out["key_last"], lambda k: k[:2])
    return out


FEATURES = {"account": account_features, "contact": contact_features}

# The columns of a unified record the matcher reads (its features are derived from
# these), and `<parent>_cluster`: the cluster the record's parent record (a contact's
# account) was resolved into.
MATCH_INPUTS: dict[str, tuple[str, ...]] = {
    "account": (
        "key_name",
        "domain",
        "phone",
        "key_street",
        "key_postcode",
        "billing_city",
        "billing_country_code",
        "key_registration",
    ),
    "contact": (
        "key_first",
        "key_last",
        "key_email",
        "mobile_phone",
        "phone",
        "title",
        "birthdate",
        "key_national_id",
        "key_street",
        "key_postcode",
        "mailing_city",
        "account_cluster",
    ),
}

# The compared columns each derived key is made from: a blocking rule on a key decides
# what those columns' comparisons see among the pairs it finds (dedupe.em).
KEY_SOURCES: dict[str, dict[str, frozenset[str]]] = {
    "account": {
        "name_first_token": frozenset({"key_name"}),
        "name_last_token": frozenset({"key_name"}),
        "name_phonetic": frozenset({"key_name"}),
        "name_acronym": frozenset({"key_name"}),
        "billing_city_key": frozenset({"billing_city"}),
    },
    "contact": {
        "first_initial": frozenset({"key_first"}),
        "first_phonetic": frozenset({"key_first"}),
        "last_phonetic": frozenset({"key_last"}),
        "name_sorted": frozenset({"key_first", "key_last"}),
        "mailing_city_key": frozenset({"mailing_city"}),
        # The same number with the same extension: the same switchboard too.
        "phone_direct": frozenset({"phone_direct", "phone_main"}),
        # Local parts are mostly made of the names: namesakes share them.
        "email_local": frozenset({"email_local", "key_email", "key_first", "key_last"}),
        "first_prefix": frozenset({"first_prefix", "key_first"}),
        "last_prefix": frozenset({"last_prefix", "key_last"}),
    },
}


def key_sources(obj: str) -> dict[str, frozenset[str]]:
    """Derived key -> the compared columns it is made from (a column not listed is its
    own)."""
    return KEY_SOURCES.get(obj, {})
