"""Derived columns that blocking rules and comparators use, computed once per record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.normalize import acronym, fold, phonetic


def _first_token(key: object) -> str | None:
    return key.split()[0] if isinstance(key, str) and key else None


def _map(series: pd.Series, fn) -> pd.Series:
    values = series.dropna().unique()
    lookup = {v: fn(v) for v in values}
    out = series.map(lookup, na_action="ignore").astype(object)
    return out.where(out.notna(), None)


def account_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["name_first_token"] = _map(out["key_name"], _first_token)
    out["name_last_token"] = _map(out["key_name"], lambda k: k.split()[-1] if k else None)
    out["name_phonetic"] = _map(out["key_name"], lambda k: phonetic(" ".join(k.split()[:2])))
    out["name_acronym"] = _map(out["key_name"], acronym)
    out["billing_city_key"] = _map(out["billing_city"], lambda v: fold(v) or None)
    return out


def _sorted_pair(first: pd.Series, last: pd.Series) -> pd.Series:
    """ "a b" from two columns, the smaller first (so swapped names agree); None where
    either is missing."""
    both = (first.notna() & last.notna()).to_numpy()
    a = first.to_numpy(dtype=object)[both]
    b = last.to_numpy(dtype=object)[both]
    out = np.full(len(first), None, dtype=object)
    out[both] = np.where(a <= b, a + " " + b, b + " " + a)
    return pd.Series(out, index=first.index, dtype=object)


def contact_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["first_initial"] = _map(out["key_first"], lambda k: k[0])
    out["first_phonetic"] = _map(out["key_first"], phonetic)
    out["last_phonetic"] = _map(out["key_last"], phonetic)
    out["name_sorted"] = _sorted_pair(out["key_first"], out["key_last"])
    out["mailing_city_key"] = _map(out["mailing_city"], lambda v: fold(v) or None)
    return out


FEATURES = {"account": account_features, "contact": contact_features}
