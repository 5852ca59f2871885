"""What a computer of golden columns (`warehouse.computed`) gives the build: the joins
and expressions its INSERT takes, and the protocol computers follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection

from core.catalogue import ObjectSpec
from core.settings import Settings


@dataclass
class InsertTime:
    """What a computer adds to the INSERT: joins, each computed column's expression
    (and of any field it completes, an org's one currency), bind parameters
    (`%(name)s`), and what it will report once the records are built."""

    joins: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)
    # What preparing found, for the report (the leads' matches).
    found: object = None


class Computer(Protocol):
    # The stages, by asset key, whose tables it reads besides the golden records'.
    reads: tuple[tuple[str, ...], ...]

    def prepare(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, full: bool
    ) -> InsertTime:
        """Run before the build (all records, or the changed ones: `full`); may mark
        more golden records changed (`golden_next.changed`) whose values it moves."""

    def report(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, prepared: InsertTime
    ) -> object:
        """After the build: what a user should hear (`lines()`) and the asset's
        metadata (`metadata()`)."""
