"""Each catalogue object's matcher: the tuned one of accounts and contacts (also
cleaning any custom fields declared on them), or a generic one from the object's
fields' kinds."""

from __future__ import annotations

from functools import cache

import pandas as pd

from core.catalogue import CATALOGUE
from core.errors import ConfigError
from dedupe import matcher as matchers
from dedupe.matcher import Matcher
from dedupe.prepare import SYSTEM_COLUMNS
from dedupe.settings import MatchSettings


@cache
def matcher_for(obj: str) -> Matcher:
    spec = CATALOGUE[obj]
    if obj in matchers.TUNED and not spec.matched and spec.resolved:
        tuned = matchers.TUNED[obj]
        # Fields the tuned preparer does not write (custom ones) are cleaned by kind.
        empty = pd.DataFrame(columns=[*SYSTEM_COLUMNS, *spec.source_fields], dtype=object)
        written = set(tuned.prepare(empty, spec.lengths).records.columns)
        return matchers.tuned(
            obj, tuple((f.name, f.kind) for f in spec.fields if f.name not in written)
        )
    derived = [f.name for f in spec.fields if f.derived]
    if derived:
        raise ConfigError(
            f"object {obj!r}: derived fields ({', '.join(derived)}) are worked out by a tuned "
            "matcher's preparer; declare them as fields read from the orgs instead"
        )
    if spec.resolved and not spec.matched:
        raise ConfigError(
            f"object {obj!r}: name the fields its duplicates are found by (`matched`), or "
            "declare it resolved=False"
        )
    return matchers.generic(
        obj, tuple((f.name, f.kind) for f in spec.fields), spec.matched, spec.lengths
    )


def match_settings(obj: str) -> MatchSettings:
    """The match settings of a resolved object."""
    settings = matcher_for(obj).settings
    if settings is None:
        raise ValueError(f"object {obj!r} is not resolved: it has no match settings")
    return settings
