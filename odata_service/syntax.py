"""The abstract syntax of `$filter`, `$orderby` and `$search`: small frozen dataclasses.

Parsers produce these; the compiler turns them into SQLAlchemy Core. Nothing here
knows about tables, so the parsers can be tested (and fuzzed) without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

# Edm type names of literals; `NULL` is the type of the `null` literal.
NULL = "null"


@dataclass(frozen=True)
class Literal:
    value: object
    type: str


@dataclass(frozen=True)
class PropertyRef:
    name: str


@dataclass(frozen=True)
class Compare:
    op: str  # eq ne gt ge lt le
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    op: str  # and / or; chains are flattened so long `or` lists stay shallow
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class In:
    operand: Node
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Arithmetic:
    op: str  # add sub mul div mod
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Literal | PropertyRef | Compare | Logical | Not | In | Arithmetic | Negate | Call


@dataclass(frozen=True)
class OrderItem:
    name: str
    descending: bool = False


@dataclass(frozen=True)
class SearchTerm:
    text: str


@dataclass(frozen=True)
class SearchLogical:
    op: str  # AND / OR
    operands: tuple[SearchNode, ...]


@dataclass(frozen=True)
class SearchNot:
    operand: SearchNode


SearchNode = SearchTerm | SearchLogical | SearchNot
