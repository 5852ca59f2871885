"""A matcher for any object, made from its fields' kinds.

Accounts and contacts have matchers tuned to what companies and people look like
(`dedupe.settings`, `dedupe.prepare`, `dedupe.features`). Any other object (a custom
`Partner__c`, a lead's own fields) is cleaned field by field according to its kind,
gets one match key per compared field, is blocked on each key and on a coarser key
beside it (a name's sound, an e-mail's local part), and compared with the comparator
of the field's kind. Its levels' m and u start from the tuned models' values for the
same kind and are then learnt from the installation's own records like theirs
(`dedupe.estimate`), so a field that is weak evidence in this data counts little.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dedupe import normalize as nz
from dedupe.prepare import (
    REJECTED_COLUMNS,
    Prepared,
    _Cleaner,
    _completeness,
    _finite,
    _rejected,
    _shown,
    _system,
)
from dedupe.settings import (
    ACCOUNT_SETTINGS,
    CONTACT_SETTINGS,
    Comparison,
    Level,
    MatchSettings,
)

_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
# Kinds whose values are cleaned text, cut to the field's length.
_TEXT_KINDS = frozenset({"text", "company", "person_name", "url", "identifier"})


def _tuned(settings: MatchSettings, name: str) -> tuple[str, tuple[Level, ...], bool]:
    comparison = settings.comparison(name)
    return comparison.kind, comparison.levels, comparison.term_frequency


# kind -> (comparator, starting levels, term frequencies): the tuned models' comparison
# of the same kind of value.
COMPARED: dict[str, tuple[str, tuple[Level, ...], bool]] = {
    "company": _tuned(ACCOUNT_SETTINGS, "name"),
    "person_name": _tuned(CONTACT_SETTINGS, "last_name"),
    "email": _tuned(CONTACT_SETTINGS, "email"),
    "phone": _tuned(ACCOUNT_SETTINGS, "phone"),
    "url": _tuned(ACCOUNT_SETTINGS, "domain"),
    "identifier": _tuned(ACCOUNT_SETTINGS, "registration_number"),
    "date": _tuned(CONTACT_SETTINGS, "birthdate"),
    # Exact after folding case and accents (a city's comparator).
    "text": ("city", _tuned(ACCOUNT_SETTINGS, "city")[1], True),
}


def _key(name: str) -> str:
    return f"key_{name}"


def _coarse(name: str) -> str:
    """A compared field's second blocking key (its sound, its local part)."""
    return f"key_{name}_coarse"


@dataclass(frozen=True)
class GenericMatcher:
    """Everything resolution needs for one object, from its fields' kinds.

    fields: (name, kind) of every field, in the unified record's order.
    matched: the fields compared; none for an object that is only cleaned (one that
    is not resolved).
    lengths: each text field's length.
    """

    object: str
    fields: tuple[tuple[str, str], ...]
    matched: tuple[str, ...]
    lengths: tuple[tuple[str, int], ...] = ()

    @property
    def kinds(self) -> dict[str, str]:
        return dict(self.fields)

    @property
    def match_keys(self) -> tuple[str, ...]:
        """The columns the preparer adds beside the fields: one key per compared field."""
        return tuple(_key(name) for name in self.matched)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The unified columns the matcher reads."""
        return self.match_keys

    def prepare(self, raw: pd.DataFrame, lengths: Mapping[str, int] | None = None) -> Prepared:
        return prepare(raw, self.fields, self.matched, lengths or dict(self.lengths))

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        kinds = self.kinds
        for name in self.matched:
            key = out[_key(name)]
            kind = kinds[name]
            if kind == "date":
                out[_key(name)] = key.map(
                    lambda v: datetime.date.fromisoformat(v) if isinstance(v, str) else v
                )
                continue
            coarse = _COARSE.get(kind)
            if coarse is not None:
                out[_coarse(name)] = per_distinct(key, lambda v, f=coarse: f(v) if v else None)
        return out

    @property
    def settings(self) -> MatchSettings:
        kinds = self.kinds
        comparisons = []
        rules: list[tuple[str, ...]] = []
        sources: list[tuple[str, frozenset[str]]] = []
        for name in self.matched:
            comparator, levels, term_frequency = COMPARED[kinds[name]]
            comparisons.append(
                Comparison(name, comparator, _key(name), levels, term_frequency=term_frequency)
            )
            if kinds[name] != "date":  # a day is shared by too many records to block on
                rules.append((_key(name),))
            if kinds[name] in _COARSE:
                rules.append((_coarse(name),))
                sources.append((_coarse(name), frozenset({_key(name)})))
        return MatchSettings(
            object=self.object,
            comparisons=tuple(comparisons),
            blocking_rules=tuple(rules),
            prior_weight=-10.0,
            match_weight=4.0,
            review_weight=-1.0,
            # Something compared must agree: records alike only in what they lack are
            # not one record.
            required_any=self.matched,
            key_sources=tuple(sources),
        )


def per_distinct(values: pd.Series, fn: Callable[[object], object]) -> pd.Series:
    """`fn` of each value, called once per distinct non-null value (keys repeat: a
    company's contacts share its name, thousands of people a first name); null where
    the value is null."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # One slot more, left null: code -1 (a null value) lands on it.
    mapped = np.full(len(uniques) + 1, None, dtype=object)
    # As plain objects: iterating over a pandas string array costs a call per value.
    mapped[: len(uniques)] = [fn(value) for value in np.asarray(uniques, dtype=object)]
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _first_sound(key: str) -> str | None:
    return nz.phonetic(" ".join(key.split()[:2]))


_COARSE = {
    "company": _first_sound,
    "person_name": nz.phonetic,
    "email": nz.local_part,
    "phone": nz.main_number,
}


def _booleans(series: pd.Series) -> pd.Series:
    folded = series.map(lambda v: str(v).strip().lower() if isinstance(v, str) else v)
    out = np.full(len(series), None, dtype=object)
    values = folded.to_numpy(dtype=object)
    out[np.isin(values, list(_TRUE))] = True
    out[np.isin(values, list(_FALSE))] = False
    return pd.Series(out, index=series.index, dtype=object)


def _timestamps(series: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601", utc=True)
    return parsed.dt.tz_localize(None).astype(object).where(parsed.notna(), None)


def _integers(series: pd.Series) -> pd.Series:
    numbers = nz.numbers(series)
    return numbers.where((numbers > -(2**31)) & (numbers < 2**31)).round().astype("Int64")


def match_key(kind: str, values: pd.Series) -> pd.Series:
    if kind == "company":
        return nz.company_keys(values)
    if kind == "person_name":
        return nz.name_keys(values)
    if kind == "url":
        return nz.website_domains(values)
    if kind == "identifier":
        return nz.identifier_keys(values)
    if kind == "text":
        return nz.fold_series(values)
    if kind == "date":
        return values.map(lambda d: d.isoformat() if d is not None else None)
    return values  # e-mails and phones are compared as normalised


def clean_field(
    clean: _Cleaner, name: str, kind: str, values: pd.Series, regions: pd.Series
) -> pd.Series:
    """One field's values cleaned by its kind; `regions` is each record's country
    (alpha-2 or null): a phone without its country prefix is read in it."""
    if kind in _TEXT_KINDS:
        return clean.text(name, values)
    if kind == "email":
        return clean.fits(name, nz.email_addresses(values))
    if kind == "phone":
        return nz.phones(values, regions)
    if kind == "country_code":
        return nz.countries(values)["code"]
    if kind == "currency":
        return nz.currency_codes(values)
    if kind == "date":
        return nz.dates(values)
    if kind == "datetime":
        return _timestamps(values)
    if kind == "number":
        return _finite(nz.numbers(values))
    if kind == "integer":
        return _integers(values)
    if kind == "boolean":
        return _booleans(values)
    if kind == "sfid":
        return nz.salesforce_ids(values)
    raise ValueError(f"{name}: no cleaning for kind {kind!r}")


def clean_extra_fields(
    prepared: Prepared,
    raw: pd.DataFrame,
    fields: tuple[tuple[str, str], ...],
    lengths: Mapping[str, int] | None,
) -> Prepared:
    """Add fields a tuned preparer does not know (an installation's custom fields on
    accounts or contacts) to what it prepared, each cleaned by its kind."""
    if not fields:
        return prepared
    clean = _Cleaner(lengths)
    records = prepared.records
    kept = raw.loc[records.index]
    nowhere = pd.Series(None, index=records.index, dtype=object)
    for name, kind in fields:
        records[name] = clean_field(clean, name, kind, kept[name], nowhere)
    clean.count_nulled(kept, records, [name for name, _ in fields])
    prepared.cleaned.update(clean.counts)
    return prepared


def prepare(
    raw: pd.DataFrame,
    fields: tuple[tuple[str, str], ...],
    matched: tuple[str, ...],
    lengths: Mapping[str, int],
) -> Prepared:
    """Clean each field by its kind and add the compared fields' match keys. A record
    none of whose compared fields has a usable value cannot be matched: it is set
    aside ('nothing_to_match') rather than resolved."""
    clean = _Cleaner(lengths)
    out = _system(raw)
    kinds = dict(fields)
    countries = [n for n, k in fields if k == "country_code"]
    nowhere = pd.Series(None, index=raw.index, dtype=object)
    # Countries first: a phone without its country prefix is read in the record's.
    for name, kind in sorted(fields, key=lambda f: f[1] != "country_code"):
        values = raw.get(name, nowhere)
        regions = out[countries[0]] if countries and countries[0] in out else nowhere
        out[name] = clean_field(clean, name, kind, values, regions)
    for name in matched:
        out[_key(name)] = match_key(kinds[name], out[name])
    read = [n for n, _ in fields if n in raw]
    out["completeness"] = _completeness(out, read)
    clean.count_nulled(raw, out, read)
    if not matched:
        return Prepared(out, pd.DataFrame(columns=list(REJECTED_COLUMNS)), clean.counts)
    unmatchable = out[[_key(n) for n in matched]].isna().all(axis=1)
    rejected = _rejected(
        raw,
        unmatchable,
        "nothing_to_match",
        lambda r: ", ".join(f"{n} {_shown(r.get(n))}" for n in matched),
    )
    return Prepared(out[~unmatchable], rejected, clean.counts)
