"""Salesforce record ids: the 15-character case-sensitive form and its 18-character
case-safe form, and a fast generator of new ones.

Real ids are 3 characters of key prefix (001 Account, 003 Contact, ...), a few characters
naming the pod and a base-62 counter, then a 3-character suffix that encodes which of the
first 15 characters are upper case. Code under test may validate ids or convert between the
two forms, so the stand-in only ever hands out ids of that exact shape.
"""

from __future__ import annotations

import hashlib
import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[0-9A-Za-z]{15}(?:[A-Z0-5]{3})?$")


def case_safe_suffix(id15: str) -> str:
    """The 3 characters Salesforce appends to a 15-character id."""
    out = []
    for chunk in range(3):
        flags = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                flags |= 1 << position
        out.append(_SUFFIX_ALPHABET[flags])
    return "".join(out)


def to_18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id; ValueError if neither."""
    if not _ID_SHAPE.match(record_id):
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    if len(record_id) == 18:
        # The suffix is case-insensitive in Salesforce; recompute it to be canonical.
        return record_id[:15] + case_safe_suffix(record_id[:15])
    return record_id + case_safe_suffix(record_id)


def normalize_id(record_id: str) -> str:
    """The form the stand-in stores and compares: a 15-character id gains its suffix; an
    18-character one is kept as given, suffix unchecked, so that seeded data whose ids were
    made up (rather than computed) still round-trips. ValueError for anything else."""
    if len(record_id) == 18 and record_id.isascii() and record_id.isalnum():
        return record_id
    return to_18(record_id)


def is_valid_id(record_id: str) -> bool:
    """True for a 15-character id, or an 18-character one whose suffix matches."""
    if not isinstance(record_id, str) or not _ID_SHAPE.match(record_id):
        return False
    return len(record_id) == 15 or record_id[15:].upper() == case_safe_suffix(record_id[:15])


def pod_for(org_id: str) -> str:
    """Three base-62 characters standing for the org's pod, stable per org id, so that
    two stand-in orgs hand out different ids (consolidation code must never see the same
    id in two orgs by accident)."""
    digest = hashlib.sha1(org_id.encode()).digest()
    return "".join(_BASE62[b % 62] for b in digest[:3])


class IdGenerator:
    """Hands out ids for one key prefix: prefix + pod + a 9-digit counter + suffix.

    The counter is decimal (digits are valid base-62 characters) and digits are never upper
    case, so the suffix depends on the prefix and pod alone: computed once, which makes a
    million ids cost a million f-strings and nothing more.
    """

    def __init__(self, key_prefix: str, pod: str) -> None:
        if len(key_prefix) != 3 or len(pod) != 3:
            raise ValueError("key prefix and pod are 3 characters each")
        self.head = key_prefix + pod
        self.suffix = case_safe_suffix(self.head + "000000000")
        self.counter = 0

    def next(self) -> str:
        self.counter += 1
        return f"{self.head}{self.counter:09d}{self.suffix}"
