"""Salesforce's ways of writing a moment, to and from Python's (UTC throughout)."""

from __future__ import annotations

import datetime as dt


def parse_salesforce_datetime(value: str) -> dt.datetime:
    """`2024-05-01T10:00:00.000Z`, `...+0000` or `...+00:00` as an aware datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def soql_datetime(moment: dt.datetime) -> str:
    """A SOQL datetime literal; a naive datetime is taken as UTC (as Connect stores it)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """A moment as the naive UTC timestamp the org's tables hold."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment
