"""Golden columns worked out when the golden records are built (the catalogue's
`computed` fields): which function fills them, per object."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from core.catalogue import ObjectSpec
from core.errors import ConfigError
from core.settings import Settings
from warehouse.currency import compute_opportunities
from warehouse.leads import compute_leads

COMPUTERS: dict[str, Callable[[Connection, Settings, ObjectSpec, bool], object]] = {
    "opportunity": compute_opportunities,
    "lead": compute_leads,
}


# The stages, by asset key, whose tables a computer reads besides the golden records.
_READS: dict[str, tuple[tuple[str, ...], ...]] = {
    "opportunity": (("staging", "currency_rate"),),
    # Leads are matched with every org's contacts and accounts.
    "lead": (("unified", "contact"), ("unified", "account")),
}


def computed_from(obj: str) -> tuple[tuple[str, ...], ...]:
    return _READS.get(obj, ())


def compute(conn: Connection, settings: Settings, spec: ObjectSpec, full: bool) -> object:
    """Fill the computed columns of the golden records just built (all, or the changed
    ones); returns what the computer reports (gaps it left)."""
    computer = COMPUTERS.get(spec.name)
    if computer is None:
        raise ConfigError(
            f"object {spec.name!r} declares computed fields "
            f"({', '.join(spec.computed_fields)}) but nothing in warehouse.computed fills them"
        )
    return computer(conn, settings, spec, full)
