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

from dedupe.normalize import acronym, personal_local_part, phonetic

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


def _edits(left: np.ndarray, right: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Damerau-Levenshtein distance over the pairs `todo` (a mask), 99 elsewhere."""
    edits = np.full(len(left), 99.0)
    if todo.any():
        edits[todo] = process.cpdist(
            left[todo].tolist(),
            right[todo].tolist(),
            scorer=distance.DamerauLevenshtein.distance,
            workers=-1,
        )
    return edits


def identifier(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Registration numbers, national ids: exact, one or two typed characters off (two
    only for ids of six characters or more), different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    edits = _edits(left, right, mask & ~same)
    long = _lengths(left, mask) >= 6
    return _assign(mask, [same, mask & (edits <= 1), mask & (edits <= 2) & long])


def _acronyms(values: np.ndarray) -> np.ndarray:
    """`acronym` of each (present) value, worked out once per distinct value: a
    company's name is in many of its pairs."""
    codes, uniques = pd.factorize(values)
    return np.array([acronym(u) for u in uniques] + [None], dtype=object)[codes]


def company(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    token_set = _similarity(left, right, mask, fuzz.token_set_ratio)
    jaro = _similarity(left, right, mask, distance.JaroWinkler.normalized_similarity)
    acronyms = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same & (token_set < 95))
    if len(todo):
        a, b = left[todo], right[todo]
        acronyms[todo] = (a == _acronyms(b)) | (b == _acronyms(a))
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


def _nickname_or_initial(left: np.ndarray, right: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Over pairs `todo`: one name is the other's initial or its start cut short
    ('sam', 'samuel'), or they are variants (they stand for a canonical name in common).

    Worked out per distinct name, then compared as integer codes: each name's
    canonical names are one run of a flat array, and a pair shares one when a
    (pair, canonical) key of its left name is among those of its right.
    """
    codes, names = pd.factorize(np.concatenate([left[todo], right[todo]]))
    lc, rc = codes[: len(todo)], codes[len(todo) :]
    names = np.asarray(names, dtype=object)
    initial = np.fromiter((len(n) == 1 for n in names), dtype=bool, count=len(names))
    first = pd.factorize(np.array([n[0] for n in names], dtype=object))[0]
    groups = [name_groups(n) for n in names]
    counts = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(names))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat, _ = pd.factorize(np.array([c for g in groups for c in g], dtype=object))
    out = np.zeros(len(todo), dtype=bool)
    by_initial = initial[lc] | initial[rc]
    out[by_initial] = first[lc[by_initial]] == first[rc[by_initial]]
    # Cut short: only names with one first letter can be.
    same_start = np.flatnonzero(~by_initial & (first[lc] == first[rc]))
    out[same_start] |= _cut_short(names[lc[same_start]], names[rc[same_start]])
    pairs = np.flatnonzero(~by_initial & (counts[lc] > 0) & (counts[rc] > 0))
    stride = np.int64(len(flat) + 1)
    keys_left = _canonical_keys(pairs, lc[pairs], counts, starts, flat, stride)
    keys_right = _canonical_keys(pairs, rc[pairs], counts, starts, flat, stride)
    out[keys_left[np.isin(keys_left, keys_right)] // stride] = True
    return out


def _canonical_keys(
    pairs: np.ndarray,
    names: np.ndarray,
    counts: np.ndarray,
    starts: np.ndarray,
    flat: np.ndarray,
    stride: np.int64,
) -> np.ndarray:
    """pair * stride + canonical code, for every canonical name of each pair's name."""
    repeats = counts[names]
    owner = np.repeat(pairs, repeats)
    offsets = np.arange(repeats.sum()) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    return owner.astype(np.int64) * stride + flat[np.repeat(starts[names], repeats) + offsets]


def _cut_short(left: np.ndarray, right: np.ndarray, shortest: int = 2) -> np.ndarray:
    """One value is the start of the other, at least `shortest` characters long: a
    field cut off on entry or import ('kennedy', 'ke')."""
    if not len(left):
        return np.zeros(0, dtype=bool)
    a, b = left.astype(str), right.astype(str)
    la, lb = np.char.str_len(a), np.char.str_len(b)
    a_shorter = la <= lb
    shorter, longer = np.where(a_shorter, a, b), np.where(a_shorter, b, a)
    return (np.minimum(la, lb) >= shortest) & (a != b) & np.char.startswith(longer, shorter)


def _typos(left, right, mask) -> tuple[np.ndarray, np.ndarray]:
    """Jaro-Winkler similarity and Damerau-Levenshtein distance (99 where no data)."""
    jaro = _similarity(left, right, mask, distance.JaroWinkler.normalized_similarity)
    edits = _edits(left, right, mask)
    return jaro, edits


def _lengths(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each value's length (0 where `mask` is false)."""
    out = np.zeros(len(values), dtype=np.int64)
    out[mask] = np.fromiter(map(len, values[mask]), dtype=np.int64, count=int(mask.sum()))
    return out


def first_name(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    jaro, edits = _typos(left, right, mask)
    nick = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same)
    if len(todo):
        nick[todo] = _nickname_or_initial(left, right, todo)
    length = _lengths(left, mask)
    close = mask & ((jaro >= 0.92) | ((edits <= 1) & (length >= 4)))
    similar = mask & ((jaro >= 0.85) | ((edits <= 2) & (length >= 5)))
    return _assign(mask, [same, nick, close, similar])


def last_name(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact, close (a typo, or the same sound), cut short, similar, different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    jaro, edits = _typos(left, right, mask)
    sounds = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same & (jaro >= 0.80))
    if len(todo):
        sounds[todo] = [phonetic(left[i]) == phonetic(right[i]) for i in todo]
    cut = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same)
    if len(todo):
        cut[todo] = _cut_short(left[todo], right[todo])
    length = _lengths(left, mask)
    close = mask & ((jaro >= 0.92) | sounds | ((edits <= 1) & (length >= 4)))
    similar = mask & ((jaro >= 0.85) | ((edits <= 2) & (length >= 5)))
    return _assign(mask, [same, close, cut, similar])


def phone(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    mask = _present(left, right)
    same = _equal(left, right, mask)
    last = np.zeros(len(left), dtype=bool)
    todo = np.flatnonzero(mask & ~same)
    if len(todo):
        # The last seven digits, per distinct number, compared as codes.
        codes, numbers = pd.factorize(np.concatenate([left[todo], right[todo]]))
        ends = pd.factorize(np.array([n[-7:] for n in numbers], dtype=object))[0][codes]
        last[todo] = ends[: len(todo)] == ends[len(todo) :]
    return _assign(mask, [same, last])


def date(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact, typed (one digit off, or day and month swapped), two of year, month and
    day agreeing (one of them entered wrong), different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    todo = np.flatnonzero(mask & ~same)
    near = np.zeros(len(left), dtype=bool)
    partly = np.zeros(len(left), dtype=bool)
    if len(todo):
        near[todo], partly[todo] = _typed_date(left[todo], right[todo])
    return _assign(mask, [same, near, partly])


def _typed_date(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A typed date (day and month swapped, or one digit of the ISO form wrong), and
    two of the three parts agreeing. Worked out per distinct date (birthdates repeat),
    then compared as digit arrays."""
    codes, dates = pd.factorize(np.concatenate([left, right]))
    lc, rc = codes[: len(left)], codes[len(left) :]
    iso = np.array([d.isoformat() for d in dates], dtype="U10")
    digits = iso.view(np.uint32).reshape(len(iso), 10)
    year = np.fromiter((d.year for d in dates), dtype=np.int64, count=len(dates))
    month = np.fromiter((d.month for d in dates), dtype=np.int64, count=len(dates))
    day = np.fromiter((d.day for d in dates), dtype=np.int64, count=len(dates))
    swapped = (year[lc] == year[rc]) & (month[lc] == day[rc]) & (day[lc] == month[rc])
    typed = swapped | ((digits[lc] != digits[rc]).sum(axis=1) == 1)
    parts = (year[lc] == year[rc]).astype(np.int8) + (month[lc] == month[rc]) + (day[lc] == day[rc])
    return typed, parts >= 2


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


def email(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact; the same personal local part at another domain (a person moves mailbox
    providers, an org keeps a private address); one typed character off (a domain
    mistyped); different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    todo = np.flatnonzero(mask & ~same)
    local = np.zeros(len(left), dtype=bool)
    typed = np.zeros(len(left), dtype=bool)
    if len(todo):
        codes, values = pd.factorize(np.concatenate([left[todo], right[todo]]))
        lc, rc = codes[: len(todo)], codes[len(todo) :]
        split = [v.partition("@") for v in values]
        local_codes = pd.factorize(np.array([p[0] for p in split], dtype=object))[0]
        domain_codes = pd.factorize(np.array([p[2] for p in split], dtype=object))[0]
        same_local = local_codes[lc] == local_codes[rc]
        # Whether a shared local part is one person's: asked of those few values only.
        shared = np.flatnonzero(same_local)
        local[todo[shared]] = [personal_local_part(values[c]) is not None for c in lc[shared]]
        # One typed character lies in the local part or in the domain, not both, and
        # changes the length by one at most.
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        maybe = (np.abs(lengths[lc] - lengths[rc]) <= 1) & (
            same_local | (domain_codes[lc] == domain_codes[rc])
        )
        close = np.flatnonzero(maybe)
        typed[todo[close]] = (
            _edits(left[todo[close]], right[todo[close]], np.ones(len(close), dtype=bool)) <= 1
        )
    return _assign(mask, [same, local, typed])


def title(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Exact, similar (the same words in another order, or a word more), different."""
    mask = _present(left, right)
    same = _equal(left, right, mask)
    token_set = _similarity(left, right, mask, fuzz.token_set_ratio)
    return _assign(mask, [same, mask & (token_set >= 85)])


def same_account(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return exact(left, right)


# Comparators whose strongest level (0) is plain equality of the values.
EQUALITY_FIRST = frozenset(
    {
        "exact",
        "identifier",
        "company",
        "first_name",
        "last_name",
        "phone",
        "date",
        "same_account",
        "email",
        "title",
    }
)
# Of those, the ones with no other level short of disagreement: equal or not.
EQUALITY_ONLY = frozenset({"exact", "same_account"})

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
    "email": email,
    "title": title,
}
