"""Field values in the three forms the stand-in needs.

* Stored form: what a row tuple holds. Exactly the text Salesforce writes in a Bulk API
  CSV (``true``/``false``, ``2024-05-01T10:00:00.000Z``, ``2024-05-01``, plain decimals),
  and ``""`` for null (Salesforce keeps no empty strings, so nothing else is empty). A
  row projection is then all text, which one ``str.join`` renders as a CSV line with no
  per-value Python call; and datetimes and dates being fixed-width ISO text, ``<``/``>``
  on them is plain string comparison.
* Python form, for ``StandinOrg.get``/``rows``: bool, int, float, date, aware datetime, str.
* JSON form, for the REST API: typed JSON, datetimes as ``2024-05-01T10:00:00.000+0000``.

Callers may pass either Python values or the CSV strings; both normalise to stored form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from salesforce_standin.ids import normalize_id

StoredValue = str
NULL = ""

STRING_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
ALL_TYPES = STRING_TYPES | ID_TYPES | NUMBER_TYPES | {"boolean", "date", "datetime"}

TRUE = "true"
FALSE = "false"

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)
_CANONICAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})Z?$")
_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class InvalidValue(ValueError):
    """A value a field cannot hold; `code` is the Salesforce status code for it, `field`
    the field's API name once known."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.message = message
        self.field = field


def _wrong_type(value: Any) -> InvalidValue:
    return InvalidValue("INVALID_TYPE_ON_FIELD_IN_RECORD", f"value not of required type: {value}")


def render_datetime(value: datetime) -> str:
    """An aware (or naive, taken as UTC) datetime as Salesforce's millisecond UTC text."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}."
        f"{value.microsecond // 1000:03d}Z"
    )


def parse_datetime_text(text: str) -> datetime | None:
    """An ISO-8601 datetime in any of the forms SOQL, REST and CSV use; None if it is not one."""
    match = _DATETIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, UTC
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        value = value - timedelta(minutes=offset)
    return value


def _datetime(value: Any) -> StoredValue:
    if isinstance(value, str):
        if _CANONICAL_DATETIME.match(value):
            return value
        parsed = parse_datetime_text(value)
        if parsed is None:
            raise _wrong_type(value)
        return render_datetime(parsed)
    if isinstance(value, datetime):
        return render_datetime(value)
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00.000Z"
    raise _wrong_type(value)


def _date(value: Any) -> StoredValue:
    if isinstance(value, str):
        match = _DATE.match(value)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
            except ValueError:
                pass
        parsed = parse_datetime_text(value)
        if parsed is not None:
            return parsed.date().isoformat()
        raise _wrong_type(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise _wrong_type(value)


def _boolean(value: Any) -> StoredValue:
    if value is True:
        return TRUE
    if value is False or value is None:
        # Salesforce checkboxes are never null: no value is false.
        return FALSE
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return TRUE
        if lowered in ("false", "0", ""):
            return FALSE
    if isinstance(value, int):
        return TRUE if value else FALSE
    raise _wrong_type(value)


def plain_decimal(value: float | int | Decimal) -> str:
    """A number as plain decimal text, never in scientific notation."""
    if isinstance(value, bool):
        raise _wrong_type(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _wrong_type(value)
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text
    return format(value, "f")


def _number(value: Any) -> StoredValue:
    cls = value.__class__
    if cls is float:
        text = float.__repr__(value)
        # Fast path: most floats print as plain decimals already.
        if "e" not in text and "n" not in text:
            return text
        return plain_decimal(value)
    if cls is int:
        return int.__repr__(value)
    if value is None or value == "":
        return NULL
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.match(text):
            return text[1:] if text[0] == "+" else text
        if _FLOAT.match(text):
            return plain_decimal(Decimal(text))
        raise _wrong_type(value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return plain_decimal(value)
    raise _wrong_type(value)


# Small counts (employees, days, quantities) repeat: share their text.
_SMALL_INTS = [str(n) for n in range(10_000)]


def _integer(value: Any) -> StoredValue:
    if value.__class__ is int:
        return _SMALL_INTS[value] if 0 <= value < 10_000 else int.__repr__(value)
    if value is None or value == "":
        return NULL
    if isinstance(value, str):
        text = value.strip()
        if _INT.match(text):
            return str(int(text))
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is not None and number == number.to_integral_value():
            return str(int(number))
        raise _wrong_type(value)
    if isinstance(value, bool):
        raise _wrong_type(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, (float, Decimal)) and value == int(value):
        return str(int(value))
    raise _wrong_type(value)


def _reference(value: Any) -> StoredValue:
    if not isinstance(value, str):
        raise InvalidValue("MALFORMED_ID", f"invalid id value: {value}")
    try:
        return normalize_id(value.strip())
    except ValueError:
        raise InvalidValue("MALFORMED_ID", f"invalid id value: {value}") from None


def normalizer(field_type: str, max_length: int) -> Callable[[Any], StoredValue]:
    """The function turning a caller's value into stored form for a field of this type.
    None and "" are null everywhere (Salesforce stores no empty strings), except on
    checkboxes, which are false."""
    if field_type in STRING_TYPES:

        def text(value: Any) -> StoredValue:
            if value is None:
                return NULL
            if not isinstance(value, str):
                numeric = isinstance(value, (int, float, Decimal))
                value = plain_decimal(value) if numeric else str(value)
            if not value:
                return NULL
            if len(value) > max_length:
                raise InvalidValue(
                    "STRING_TOO_LONG",
                    f"data value too large: {value[:40]} (max length={max_length})",
                )
            return value

        return text
    if field_type == "boolean":
        return _boolean
    if field_type == "picklist":
        # Picklist values repeat across rows: keep one string object per value, which
        # matters for rows loaded from CSV, where each cell is a new string.
        known: dict[str, str] = {}
        plain = normalizer("string", max_length)

        def picklist(value: Any) -> StoredValue:
            text = plain(value)
            return known.setdefault(text, text) if text else NULL

        return picklist
    if field_type in ("double", "currency", "percent"):
        return _number
    if field_type == "int":
        return _integer
    convert = {"id": _reference, "reference": _reference, "date": _date, "datetime": _datetime}[
        field_type
    ]

    def nullable(value: Any) -> StoredValue:
        if value is None or value == "":
            return NULL
        return convert(value)

    return nullable


def _identity(text: str) -> Any:
    return text


def to_python(field_type: str) -> Callable[[str], Any]:
    """Stored text (never NULL: callers turn that into None) to the Python value."""
    if field_type == "boolean":
        return TRUE.__eq__
    if field_type == "int":
        return int
    if field_type in ("double", "currency", "percent"):
        return float
    if field_type == "date":
        return date.fromisoformat
    if field_type == "datetime":
        return datetime.fromisoformat
    return _identity


def _json_datetime(text: str) -> str:
    return text[:-1] + "+0000"


def to_json(field_type: str) -> Callable[[str], Any]:
    """Stored text (never NULL) to the value the REST API puts in JSON."""
    if field_type == "datetime":
        return _json_datetime
    if field_type == "date":
        return _identity
    return to_python(field_type)
