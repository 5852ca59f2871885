"""What resolution needs for one kind of record, in one place: its match settings, the
preparer that cleans its fields and adds match keys, the keys it adds, the unified
columns the matcher reads, and the features blocking and comparing derive from them.

Accounts and contacts have tuned matchers (`TUNED`); any other object gets a generic
one from its fields' kinds (`dedupe.generic`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import pandas as pd

from dedupe import features, prepare
from dedupe.generic import GenericMatcher, clean_extra_fields
from dedupe.settings import ACCOUNT_SETTINGS, CONTACT_SETTINGS, MatchSettings


@dataclass(frozen=True)
class Matcher:
    object: str
    # None: the object is cleaned but not resolved (each record its own entity).
    settings: MatchSettings | None
    prepare: Callable[[pd.DataFrame, Mapping[str, int] | None], prepare.Prepared]
    match_keys: tuple[str, ...]
    inputs: tuple[str, ...]
    features: Callable[[pd.DataFrame], pd.DataFrame]


TUNED: dict[str, Matcher] = {
    "account": Matcher(
        "account",
        ACCOUNT_SETTINGS,
        prepare.prepare_accounts,
        prepare.MATCH_KEYS["account"],
        features.MATCH_INPUTS["account"],
        features.account_features,
    ),
    "contact": Matcher(
        "contact",
        CONTACT_SETTINGS,
        prepare.prepare_contacts,
        prepare.MATCH_KEYS["contact"],
        features.MATCH_INPUTS["contact"],
        features.contact_features,
    ),
}


def _tuned_with_extra(
    tuned: Callable, extra: tuple[tuple[str, str], ...], raw: pd.DataFrame, lengths=None
) -> prepare.Prepared:
    # The tuned preparer sees the columns it knows (it counts what it nulls of each).
    known = raw.drop(columns=[name for name, _ in extra if name in raw])
    return clean_extra_fields(tuned(known, lengths), raw, extra, lengths)


def tuned(obj: str, extra: tuple[tuple[str, str], ...] = ()) -> Matcher:
    """The tuned matcher of `obj`, also cleaning `extra` fields ((name, kind)) it does
    not know by their kinds."""
    base = TUNED[obj]
    if not extra:
        return base
    return Matcher(
        obj,
        base.settings,
        partial(_tuned_with_extra, base.prepare, extra),
        base.match_keys,
        base.inputs,
        base.features,
    )


def generic(
    obj: str,
    fields: tuple[tuple[str, str], ...],
    matched: tuple[str, ...],
    lengths: Mapping[str, int],
) -> Matcher:
    """A matcher from `fields` ((name, kind)) comparing `matched`; with nothing
    matched, one that only cleans (`settings` None)."""
    model = GenericMatcher(obj, fields, matched, tuple(lengths.items()))
    return Matcher(
        obj,
        model.settings if matched else None,
        model.prepare,
        model.match_keys,
        model.inputs,
        model.features,
    )
