"""Salesforce record ids: 15-character (case-sensitive) and 18-character forms.

Heroku Connect stores the 18-character form. Its last three characters encode the
case of the first fifteen, so a typo in an 18-character id is usually detectable.
"""

from __future__ import annotations

import re

_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
PATTERN = _SHAPE.pattern


def checksum(id15: str) -> str:
    """The three characters that turn a 15-character id into its 18-character form."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to_18(sfid: str) -> str | None:
    """The canonical 18-character id, or None when `sfid` is not a Salesforce id."""
    if not _SHAPE.match(sfid):
        return None
    expected = checksum(sfid[:15])
    if len(sfid) == 18 and sfid[15:].upper() != expected:
        return None
    return sfid[:15] + expected
