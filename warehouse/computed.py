"""Golden columns worked out when the golden records are built (the catalogue's
`computed` fields): which computer fills them, per object.

A computer prepares what its columns need before the build (temp tables of rates,
the leads' matches) and says how the build's INSERT gets them: the joins it adds and
the expression of each column, over `u` (the unified record) and `x` (its xref row).
The values are written once, with the rest of the record, rather than updated after:
at a first publication that is a million rows not written twice.
"""

from __future__ import annotations

from core.catalogue import ObjectSpec
from core.errors import ConfigError
from warehouse.currency import OPPORTUNITY_COMPUTER
from warehouse.insert_time import Computer
from warehouse.leads import LEAD_COMPUTER

COMPUTERS: dict[str, Computer] = {"opportunity": OPPORTUNITY_COMPUTER, "lead": LEAD_COMPUTER}


def computer_for(spec: ObjectSpec) -> Computer:
    computer = COMPUTERS.get(spec.name)
    if computer is None:
        raise ConfigError(
            f"object {spec.name!r} declares computed fields "
            f"({', '.join(spec.computed_fields)}) but nothing in warehouse.computed fills them"
        )
    return computer


def computed_from(obj: str) -> tuple[tuple[str, ...], ...]:
    computer = COMPUTERS.get(obj)
    return computer.reads if computer is not None else ()
