"""Derived columns that blocking rules and comparators use, computed once per record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.normalize import acronym, fold, phonetic


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
    return out


FEATURES = {"account": account_features, "contact": contact_features}
