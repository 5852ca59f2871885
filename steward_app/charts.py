"""Charts drawn on the server as SVG (no script, no CDN: the app works offline), and
the duplicate matrix's layout."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from core.catalogue import CATALOGUE
from warehouse.matchers import matcher_for

_WIDTH, _HEIGHT, _BINS = 560, 180, 24


def thresholds(obj: str) -> dict[str, float]:
    """The match and review weights of an object's model (bits), drawn on its chart;
    none for an object whose pairs a rule finds (opportunities)."""
    spec = CATALOGUE.get(obj)
    if spec is None or not spec.resolved:
        return {}
    settings = matcher_for(obj).settings
    return {"match": settings.match_weight, "review": settings.review_weight}


def histogram(values: list[float], lines: dict[str, float]) -> Markup:
    """A histogram of match weights with the thresholds drawn as labelled lines."""
    if not values:
        return Markup("")
    low = math.floor(min([*values, *lines.values()]))
    high = math.ceil(max([*values, *lines.values()])) + 1
    step = (high - low) / _BINS
    counts = [0] * _BINS
    for value in values:
        counts[min(_BINS - 1, int((value - low) / step))] += 1
    top = max(counts) or 1
    bar = _WIDTH / _BINS
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT + 30}" role="img" '
        f'aria-label="Match weights of {len(values)} pairs under review">'
    ]
    for index, count in enumerate(counts):
        height = _HEIGHT * count / top
        parts.append(
            f'<rect x="{index * bar:.1f}" y="{_HEIGHT - height:.1f}" width="{bar - 2:.1f}" '
            f'height="{height:.1f}" class="bin"><title>{count} pairs, weight '
            f"{low + index * step:.1f} to {low + (index + 1) * step:.1f}</title></rect>"
        )
    for name, weight in lines.items():
        x = (weight - low) / (high - low) * _WIDTH
        # Labels near the right edge go on the line's left.
        left = x > _WIDTH - 100
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{_HEIGHT}" class="threshold {name}"/>'
            f'<text x="{x - 3 if left else x + 3:.1f}" y="12" '
            f'class="label{" end" if left else ""}">{escape(name)} {weight:+.1f}</text>'
        )
    parts.append(
        f'<text x="0" y="{_HEIGHT + 20}" class="label">{low:+.0f} bits</text>'
        f'<text x="{_WIDTH}" y="{_HEIGHT + 20}" class="label end">{high:+.0f} bits</text></svg>'
    )
    return Markup("".join(parts))


@dataclass
class Matrix:
    object: str
    orgs: list[str]
    cells: dict[tuple[str, str], int]

    def cell(self, a: str, b: str) -> int | None:
        return self.cells.get((min(a, b), max(a, b)))


def matrix(found: list[dict[str, Any]]) -> list[Matrix]:
    """Duplicates found per org pair, one matrix per object."""
    by_object: dict[str, Matrix] = {}
    for row in found:
        m = by_object.setdefault(row["object"], Matrix(row["object"], [], {}))
        for org in (row["org_a"], row["org_b"]):
            if org not in m.orgs:
                m.orgs.append(org)
        m.cells[(row["org_a"], row["org_b"])] = int(row["pairs"])
    for m in by_object.values():
        m.orgs.sort()
    return list(by_object.values())
