"""`$search`: words and "phrases" combined with AND (or juxtaposition), OR, NOT, parentheses.

Words are any run of characters other than blanks, quotes and parentheses, so
phone numbers and e-mail addresses are searchable as typed.
"""

from __future__ import annotations

import re

from odata_service.errors import LimitExceeded, QuerySyntaxError
from odata_service.syntax import SearchLogical, SearchNode, SearchNot, SearchTerm

MAX_TERMS = 16
MAX_DEPTH = 16
_TOKEN = re.compile(r'\s+|"((?:[^"\\]|\\.)*)"|([()])|([^\s()"]+)')
OPTION = "$search"


def parse_search(source: str) -> SearchNode:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise QuerySyntaxError(f"$search: unterminated phrase at position {pos}", target=OPTION)
        phrase, paren, word = match.groups()
        if phrase is not None:
            text = re.sub(r"\\(.)", r"\1", phrase)
            if not text.strip():
                raise QuerySyntaxError("$search: empty phrase", target=OPTION)
            tokens.append(("term", text))
        elif paren:
            tokens.append((paren, paren))
        elif word:
            tokens.append(("op", word) if word in ("AND", "OR", "NOT") else ("term", word))
        pos = match.end()
    if sum(kind == "term" for kind, _ in tokens) > MAX_TERMS:
        raise LimitExceeded(f"$search: at most {MAX_TERMS} terms", target=OPTION)
    parser = _Parser(tokens)
    node = parser.parse_or()
    if parser.index != len(tokens):
        raise QuerySyntaxError(f"$search: unexpected {tokens[parser.index][1]!r}", target=OPTION)
    return node


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def parse_or(self) -> SearchNode:
        operands = [self.parse_and()]
        while self.peek() == ("op", "OR"):
            self.index += 1
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else SearchLogical("OR", tuple(operands))

    def parse_and(self) -> SearchNode:
        operands = [self.parse_not()]
        while (token := self.peek()) is not None and token not in (("op", "OR"), (")", ")")):
            if token == ("op", "AND"):
                self.index += 1
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else SearchLogical("AND", tuple(operands))

    def parse_not(self) -> SearchNode:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("$search: expected a word or phrase", target=OPTION)
        self.index += 1
        if token == ("op", "NOT"):
            return SearchNot(self.parse_not())
        if token[0] == "term":
            return SearchTerm(token[1])
        if token[0] == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise LimitExceeded("$search: nested too deeply", target=OPTION)
            inner = self.parse_or()
            if self.peek() != (")", ")"):
                raise QuerySyntaxError("$search: missing ')'", target=OPTION)
            self.index += 1
            self.depth -= 1
            return inner
        raise QuerySyntaxError(f"$search: unexpected {token[1]!r}", target=OPTION)
