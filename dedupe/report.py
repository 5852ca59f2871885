"""What a fitted model learnt from the data, as lines for people to read."""

from __future__ import annotations

import math

from dedupe.settings import MatchSettings


def _one_in(bits: float) -> str:
    return f"1 in {round(2**-bits):,}"


def _penalty(bits: float | None) -> str:
    if bits is None:
        return "a ban (not measured: no blocking rule leaves its names free)"
    return f"{bits:+.1f} bits, measured"


def model_report(configured: MatchSettings, fitted: MatchSettings, records: int) -> list[str]:
    """The prior, the match rule's strength and every comparison's levels: m as learnt
    (and as configured), u as measured, and the weight they give."""
    lines = [
        f"prior: {_one_in(fitted.prior_weight)} pairs of records is one entity "
        f"({fitted.prior_weight:+.1f} bits; {records:,} records)",
        f"match threshold: {configured.match_weight:+.1f} bits "
        f"({1 / (1 + 2**-configured.match_weight):.0%}); review from "
        f"{configured.review_weight:+.1f} bits",
    ]
    if configured.required_all:
        lines.append(
            f"breaking 'no plainly different {', '.join(configured.required_all)} unless "
            f"{', '.join(configured.required_all_waived_by)} agrees': "
            f"{_penalty(fitted.required_all_penalty)}"
        )
    if configured.required_any:
        lines.append(
            f"breaking 'one of {', '.join(configured.required_any)} agrees': "
            f"{_penalty(fitted.required_any_penalty)}"
        )
    lines.append("")
    lines.append(f"{'comparison':<20} {'level':<22} {'m (configured)':>16} {'u':>10} {'weight':>8}")
    for comparison in fitted.comparisons:
        before = configured.comparison(comparison.name)
        name = comparison.name + (f" [{comparison.group}]" if comparison.group else "")
        for level, was in zip(comparison.levels, before.levels, strict=True):
            m = f"{level.m:.3f} ({was.m:.3f})"
            weight = math.log2(level.m / level.u)
            lines.append(f"{name:<20} {level.name:<22} {m:>16} {level.u:>10.6f} {weight:>+8.1f}")
            name = ""
    groups = sorted({c.group for c in fitted.comparisons if c.group})
    if groups:
        lines.append("")
        lines.append(
            f"[{', '.join(groups)}]: evidence that agrees together (colleagues share an "
            "office, neighbours a street): m as configured, counted once (docs/matching.md)"
        )
    return lines
