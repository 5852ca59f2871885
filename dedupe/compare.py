"""Comparators: put each candidate pair on a comparison's level, vectorised.

Every comparator takes the left and right values of all pairs (object arrays,
None for null) and returns an int8 array of level indexes: 0 is the strongest
agreement, `n_levels - 1` is disagreement, and -1 means a null on either side
(no evidence).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
from nicknames import NickNamer
from rapidfuzz import distance, fuzz, process

from dedupe.normalize import acronym, phonetic

NULL = -1


def _not_null(values: np.ndarray) -> np.ndarray:
    return ~pd.isna(values)


def _present(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return _not_null(left) & _not_null(right)


def _similarity(left, right, mask, scorer) -> np.ndarray:
    out = np.zeros(len(left), dtype=np.float64)
    if mask.any():
        out[mask] = process.cpdist(
            left[mask].tolist(), right[mask].tolist(), scorer=scorer, workers=-1
        )
    return out


def _assign(mask: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray:
    """First true condition wins; none true -> last level; no data -> NULL."""
    levels = np.full(len(mask), len(conditions), dtype=np.int8)
    for index in range(len(conditions) - 1, -1, -1):
        levels[conditions[index]] = index
    levels[~mask] = NULL
    return levels


def _equal(left: np.ndarray, right: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return mask & (left == right)


def exact(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    return _assign(mask, [_equal(left, right, mask)])


def identifier(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Registration numbers, national ids: exact, one or two typed characters off (two
    only for ids of six characters or more), different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    edits = np.full(len(left), 99.0)
    todo = mask & ~same
    if todo.any():
        edits[todo] = process.cpdist(
            left[todo].tolist(),
            right[todo].tolist(),
            scorer=distance.DamerauLevenshtein.distance,
            workers=-1,
        )
    return _assign(mask, [same, mask & (edits <= 1), mask & (edits <= 2) & _long(left, mask, 6)])


def company(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    token_set = _similarity(left, right, mask, fuzz.token_set_ratio)
    jaro = _similarity(left, right, mask, distance.JaroWinkler.normalized_similarity)
    acronyms = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same & (token_set < 95))
    if len(todo):
        acronyms[todo] = [
            a == acronym(b) or b == acronym(a) for a, b in zip(left[todo], right[todo], strict=True)
        ]
    close = mask & ((token_set >= 95) | (jaro >= 0.96) | acronyms)
    similar = mask & ((token_set >= 85) | (jaro >= 0.90))
    return _assign(mask, [same, close, similar])


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=100_000)
def name_groups(name: str) -> tuple[str, ...]:
    """The canonical names a first name stands for: 'bob' -> robert (and others);
    'robert' -> robert. Two names are variants of each other when they share one."""
    namer = _nicknamer()
    groups = set(namer.canonicals_of(name))
    if namer.nicknames_of(name):
        groups.add(name)
    return tuple(sorted(groups))


def _variants(a: str, b: str) -> bool:
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return not set(name_groups(a)).isdisjoint(name_groups(b))


def _nickname_or_initial(left: np.ndarray, right: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Over pairs `todo`: one name is the other's initial, or they are variants.

    Worked out per distinct name, then compared as integer codes: most names stand
    for one canonical name or none; only pairs with a name that stands for several
    are checked one by one.
    """
    codes, names = pd.factorize(np.concatenate([left[todo], right[todo]]))
    lc, rc = codes[: len(todo)], codes[len(todo) :]
    names = np.asarray(names, dtype=object)
    initial = np.fromiter((len(n) == 1 for n in names), dtype=bool, count=len(names))
    first = pd.factorize(np.array([n[0] for n in names], dtype=object))[0]
    groups = [name_groups(n) for n in names]
    group_codes, _ = pd.factorize(np.array([g[0] if g else None for g in groups], dtype=object))
    several = np.fromiter((len(g) > 1 for g in groups), dtype=bool, count=len(names))
    out = np.zeros(len(todo), dtype=bool)
    by_initial = initial[lc] | initial[rc]
    out[by_initial] = first[lc[by_initial]] == first[rc[by_initial]]
    simple = ~by_initial & ~several[lc] & ~several[rc]
    gl, gr = group_codes[lc[simple]], group_codes[rc[simple]]
    out[simple] = (gl >= 0) & (gl == gr)
    for i in np.flatnonzero(~by_initial & ~simple):
        out[i] = _variants(names[lc[i]], names[rc[i]])
    return out


def _typos(left, right, mask) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler similarity and Damerau-Levenshtein distance (99 where no data)."""
    jaro = _similarity(left, right, mask, distance.JaroWinkler.normalized_similarity)
    edits = np.full(len(left), 99.0)
    if mask.any():
        edits[mask] = process.cpdist(
            left[mask].tolist(),
            right[mask].tolist(),
            scorer=distance.DamerauLevenshtein.distance,
            workers=-1,
        )
    return jaro, edits


def _long(values: np.ndarray, mask: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    out[mask] = np.char.str_len(values[mask].astype(str)) >= length
    return out


def first_name(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    jaro, edits = _typos(left, right, mask)
    nick = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same)
    if len(todo):
        nick[todo] = _nickname_or_initial(left, right, todo)
    close = mask & ((jaro >= 0.92) | ((edits <= 1) & _long(left, mask, 4)))
    similar = mask & ((jaro >= 0.85) | ((edits <= 2) & _long(left, mask, 5)))
    return _assign(mask, [same, nick, close, similar])


def last_name(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    jaro, edits = _typos(left, right, mask)
    sounds = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same & (jaro >= 0.80))
    if len(todo):
        sounds[todo] = [phonetic(left[i]) == phonetic(right[i]) for i in todo]
    close = mask & ((jaro >= 0.92) | sounds | ((edits <= 1) & _long(left, mask, 4)))
    similar = mask & ((jaro >= 0.85) | ((edits <= 2) & _long(left, mask, 5)))
    return _assign(mask, [same, close, similar])


def phone(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    last = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same)
    if len(todo):
        last[todo] = [a[-7:] == b[-7:] for a, b in zip(left[todo], right[todo], strict=True)]
    return _assign(mask, [same, last])


def date(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)

    def one_off(a, b) -> bool:
        # A typed date: day and month swapped, or one digit wrong.
        if a.year == b.year and a.month == b.day and a.day == b.month:
            return True
        sa, sb = a.isoformat(), b.isoformat()
        return sum(x != y for x, y in zip(sa, sb, strict=True)) == 1

    near = mask & ~same
    todo = np.flatnonzero(near)
    near = np.zeros(len(left), dtype=bool)
    if len(todo):
        near[todo] = [one_off(left[i], right[i]) for i in todo]
    return _assign(mask, [same, near])


def _house_numbers(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The numbers in each address ('' for none), worked out once per distinct value."""
    out = np.full(len(values), "", dtype=object)
    if mask.any():
        codes, uniques = pd.factorize(values[mask])
        numbers = np.array([" ".join(re.findall(r"\d+", str(v))) for v in uniques], dtype=object)
        out[mask] = numbers[codes]
    return out


def street(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    token_set = _similarity(left, right, mask, fuzz.token_set_ratio)
    # Token sets overlook a short token: '2 market st' is all in '266 market st'. Another
    # house number on the same street is another address, similar at most.
    numbers_l, numbers_r = _house_numbers(left, mask), _house_numbers(right, mask)
    renumbered = (numbers_l != "") & (numbers_r != "") & (numbers_l != numbers_r)
    return _assign(mask, [mask & (token_set >= 90) & ~renumbered, mask & (token_set >= 70)])


def city(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    jaro = np.zeros(len(left), dtype=np.float64)
    if mask.any():
        jaro[mask] = process.cpdist(
            left[mask].tolist(),
            right[mask].tolist(),
            scorer=distance.JaroWinkler.normalized_similarity,
            processor=str.lower,
            workers=-1,
        )
    return _assign(mask, [mask & (jaro >= 0.93)])


def same_account(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return exact(left, right)


# Comparators whose strongest level (0) is plain equality of the values.
EQUALITY_FIRST = frozenset(
    {"exact", "identifier", "company", "first_name", "last_name", "phone", "date", "same_account"}
)

COMPARATORS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "exact": exact,
    "identifier": identifier,
    "company": company,
    "first_name": first_name,
    "last_name": last_name,
    "phone": phone,
    "date": date,
    "street": street,
    "city": city,
    "same_account": same_account,
}
