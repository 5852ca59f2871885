"""Learn m (how often true matches land on each level), the prior and the match rule's
strength from the installation's own candidate pairs, by expectation–maximisation.

The classic Fellegi–Sunter EM: given the current model, each candidate pair's match
probability; given those, the share of expected matches on each level. u stays as
measured on random pairs (`dedupe.estimate`). The guards that keep it learning "same
person" rather than something that merely looks like it:

- blocking biases the pairs: pairs found because two records share a first name say
  nothing about how often true matches share it. EM runs one session per blocking
  rule, as Splink's training does, and a session leaves out the comparisons its rule
  is built on (traced to the compared columns through `dedupe.features.KEY_SOURCES`);
  a comparison's m averages the sessions that could learn it, each counting alike;
- comparisons in a `group` (workplace evidence: account, switchboard phone, office
  address) keep their configured m. In the E step they count as scoring counts a
  group, except where the account agrees (or the rule is the account): there only
  what agrees beyond the strongest of them counts. Else EM learns "works at the same
  company", since colleagues crowd the candidate pairs of any CRM;
- the configured m is a prior worth `PSEUDO_COUNT` pairs, so a level seen on a handful
  of pairs cannot swing the model, and a data set without duplicates leaves it as it
  is; and no level ends up weighing more than agreeing exactly (`monotone`).

The prior follows from the matches a session finds over the share of all matches its
rule can find. Sessions whose rule leaves the match rule's columns free measure how
often likely matches break it, and breaking it then weighs that much instead of
being banned.

The pairs come from one shard of the blocking (`dedupe.blocking`), so their number is
bounded whatever the data's size, and the shard's share of all blocks scales the
counts back up.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dedupe.blocking import Factorize, block_keys, candidate_pairs
from dedupe.compare import NULL
from dedupe.features import key_sources
from dedupe.score import CodedColumns, group_weight, level_weights, rule_checks, score_pairs
from dedupe.settings import Comparison, Level, MatchSettings

# Candidate pairs EM learns from, at most (one shard of the blocking).
TRAINING_PAIRS = 400_000
# Fewer candidate pairs than this: too few matches to learn from; configured m stands.
MIN_TRAINING_PAIRS = 200
# A rule that finds fewer pairs than this in the training shard teaches nothing.
MIN_SESSION_PAIRS = 50
# The prior of how often a true match breaks the match rule (about never), worth
# `PSEUDO_COUNT` pairs against what the sessions measure.
RULE_BROKEN_M = 0.001
MAX_ITERATIONS = 25
# Stop once no m moves by more than this between iterations.
TOLERANCE = 1e-4
PSEUDO_COUNT = 50.0
_M_FLOOR = 1e-4


@dataclass(frozen=True)
class Session:
    """The training pairs one blocking rule reached, and the comparisons it may learn
    (those not built on the rule's columns, outside any group)."""

    rule: tuple[str, ...]
    pairs: np.ndarray  # positions into the training pairs
    active: tuple[str, ...]
    # The parts of the match rule ("all", "any") whose columns the blocking rule
    # leaves free: the session can measure how often true matches break them.
    measures: tuple[str, ...] = ()
    # Grouped comparisons the rule leaves free: their evidence counts in the E step
    # (as scoring counts a group), with m as configured.
    grouped: tuple[str, ...] = ()
    # The rule is built on the account: its pairs share a workplace.
    on_workplace: bool = False


@dataclass(frozen=True)
class TrainingPairs:
    """Candidate pairs to learn from, each comparison's levels on them, the sessions
    (one per blocking rule), and the share of records holding each compared column."""

    levels: dict[str, np.ndarray]
    # Per part of the match rule ("all": `required_all`, "any": `required_any`), the
    # pairs that break it.
    breaks: dict[str, np.ndarray]
    sessions: tuple[Session, ...]
    present: dict[str, float]
    # All candidate pairs over the ones here: one shard of `shards`.
    scale: float


def _pair_count(codes: np.ndarray) -> int:
    sizes = np.bincount(codes[codes >= 0])
    return int((sizes * (sizes - 1) // 2).sum())


def training_pairs(
    frame: pd.DataFrame, settings: MatchSettings, coded: CodedColumns
) -> TrainingPairs | None:
    """One shard of the candidate pairs, about `TRAINING_PAIRS` of them."""
    factorize: Factorize = coded
    keys = block_keys(
        frame, settings.blocking_rules, settings.max_block_size, factorize, compact=True
    )
    # An upper bound (pairs found by two rules counted twice) is enough to size shards.
    bound = sum(_pair_count(codes) for codes in keys.pairing)
    if bound < MIN_TRAINING_PAIRS:
        return None
    shards = max(1, math.ceil(bound / TRAINING_PAIRS))
    left, right, _ = candidate_pairs(
        frame, settings.blocking_rules, settings.max_block_size, 0, shards, keys
    )
    if len(left) < MIN_TRAINING_PAIRS:
        return None
    # Without term frequencies (as Splink trains): a level's m, not a value's.
    plain = dataclasses.replace(
        settings,
        comparisons=tuple(
            dataclasses.replace(c, term_frequency=False) for c in settings.comparisons
        ),
    )
    levels = score_pairs(frame, left, right, plain, coded).levels
    sources = {**key_sources(settings.object), **dict(settings.key_sources)}
    part_columns = {
        part: {settings.comparison(name).column for name in names}
        for part, names in rule_parts(settings).items()
    }
    sessions = []
    for rule, pairing in zip(settings.blocking_rules, keys.pairing, strict=True):
        reached = np.flatnonzero((pairing[left] == pairing[right]) & (pairing[left] >= 0))
        built_on = set().union(*(sources.get(column, {column}) for column in rule))
        free = [c for c in settings.comparisons if c.column not in built_on]
        active = tuple(c.name for c in free if c.group is None)
        grouped = tuple(c.name for c in free if c.group is not None)
        # A session learns from pairs with some evidence left to weigh; with none,
        # its share of matches would stay wherever EM started it.
        informed = np.zeros(len(reached), dtype=bool)
        for name in active:
            informed |= levels[name][reached] != NULL
        if informed.sum() >= MIN_SESSION_PAIRS:
            measures = tuple(p for p, cols in part_columns.items() if not built_on & cols)
            on_workplace = any(
                c.kind == "same_account" and c.column in built_on for c in settings.comparisons
            )
            sessions.append(Session(rule, reached, active, measures, grouped, on_workplace))
    present = {c.name: float((coded(c.column)[0] >= 0).mean()) for c in settings.comparisons}
    checks = rule_checks(levels, settings, len(left))
    breaks = {"all": ~checks.all_kept, "any": ~checks.any_kept}
    return TrainingPairs(levels, breaks, tuple(sessions), present, float(shards))


def rule_parts(settings: MatchSettings) -> dict[str, tuple[str, ...]]:
    """Each part of the match rule the settings declare, with the comparisons it reads."""
    parts = {}
    if settings.required_all:
        parts["all"] = (*settings.required_all, *settings.required_all_waived_by)
    if settings.required_any:
        parts["any"] = settings.required_any
    return parts


def _posterior(
    levels: dict[str, np.ndarray],
    comparisons: list[Comparison],
    share: float,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    total = np.full(len(next(iter(levels.values()))), math.log2(share / (1 - share)))
    if extra is not None:
        total += extra
    for comparison in comparisons:
        total += level_weights(comparison, levels[comparison.name])
    return 1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))


def _with_m(comparison: Comparison, configured: Comparison, expected: np.ndarray) -> Comparison:
    """m from expected match counts per level, the configured m worth `PSEUDO_COUNT`."""
    prior = np.array([level.m for level in configured.levels])
    m = (expected + PSEUDO_COUNT * prior) / (expected.sum() + PSEUDO_COUNT)
    m = np.maximum(m, _M_FLOOR)
    m /= m.sum()
    return dataclasses.replace(
        comparison,
        levels=tuple(
            Level(level.name, float(value), level.u)
            for level, value in zip(comparison.levels, m, strict=True)
        ),
    )


def _expected(levels: np.ndarray, p: np.ndarray, size: int) -> np.ndarray:
    seen = levels != NULL
    return np.bincount(levels[seen], weights=p[seen], minlength=size)


@dataclass(frozen=True)
class SessionResult:
    rule: tuple[str, ...]
    # Expected true matches among all the candidate pairs the rule finds.
    matches: float
    expected: dict[str, np.ndarray]  # per active comparison, expected matches per level
    # Per part of the match rule the session measures: expected matches that break
    # it, and all expected matches.
    breaking: dict[str, tuple[float, float]]


def _penalty(broken_m: float, broken_u: float) -> float:
    return math.log2(broken_m / broken_u)


def _run_session(
    pairs: TrainingPairs,
    session: Session,
    model: dict[str, Comparison],
    broken_m: dict[str, float],
    broken_u: dict[str, float],
    settings: MatchSettings,
) -> SessionResult:
    levels = {name: pairs.levels[name][session.pairs] for name in session.active}
    local = {name: model[name] for name in session.active}
    workplace = _group_evidence(pairs, session, model, settings)
    broken_m = dict(broken_m)
    measured = [part for part in session.measures if part in broken_u]
    breaks = {part: pairs.breaks[part][session.pairs] for part in measured}
    share = 0.1
    expected: dict[str, np.ndarray] = {}
    for _ in range(MAX_ITERATIONS):
        penalty = workplace.copy()
        for part in measured:
            penalty += np.where(breaks[part], _penalty(broken_m[part], broken_u[part]), 0.0)
        p = _posterior(levels, list(local.values()), share, penalty)
        share = float(np.clip(p.mean(), 1e-6, 0.999))
        moved = 0.0
        for name in session.active:
            size = len(local[name].levels)
            expected[name] = _expected(levels[name], p, size)
            new = _with_m(local[name], model[name], expected[name])
            moved = max(
                moved,
                *(abs(a.m - b.m) for a, b in zip(new.levels, local[name].levels, strict=True)),
            )
            local[name] = new
        for part in measured:
            new_broken = _broken_m(float(p[breaks[part]].sum()), float(p.sum()))
            moved = max(moved, abs(new_broken - broken_m[part]))
            broken_m[part] = new_broken
        if moved < TOLERANCE:
            break
    return SessionResult(
        session.rule,
        share * len(session.pairs) * pairs.scale,
        expected,
        {part: (float(p[breaks[part]].sum()), float(p.sum())) for part in measured},
    )


def _group_evidence(
    pairs: TrainingPairs,
    session: Session,
    model: dict[str, Comparison],
    settings: MatchSettings,
) -> np.ndarray:
    """The weight grouped comparisons add to each of the session's pairs in the E step:
    as scoring counts a group, less the strongest agreement where the account agrees."""
    out = np.zeros(len(session.pairs))
    by_group: dict[str, list[str]] = {}
    for name in session.grouped:
        by_group.setdefault(model[name].group or "", []).append(name)
    for names in by_group.values():
        stacked = np.vstack(
            [level_weights(model[name], pairs.levels[name][session.pairs]) for name in names]
        )
        # Colleagues share a workplace: where the account agrees, it explains a shared
        # switchboard and office too, and EM would learn "same company" from them:
        # only what agrees beyond the strongest agreement, and what disagrees, speaks
        # of the person. Without a shared account, a shared address is the person's.
        # A rule on the workplace itself (the account) finds colleagues by design.
        colleagues = np.full(len(session.pairs), session.on_workplace)
        for name in names:
            if model[name].kind == "same_account":
                colleagues |= pairs.levels[name][session.pairs] == 0
        strongest = np.clip(stacked, 0.0, None).max(axis=0)
        out += group_weight(stacked, names, settings) - np.where(colleagues, strongest, 0.0)
    return out


def _pooled(comparison: Comparison, results: list[SessionResult]) -> Comparison:
    """m from every session that learnt it, each session's share per level counting
    alike (as Splink averages its sessions): a session whose rule found many pairs that
    merely look alike (namesakes sharing a local part) cannot outvote the others. The
    configured m weighs as `PSEUDO_COUNT` pairs against a session's typical matches."""
    learnt = [r.expected[comparison.name] for r in results if comparison.name in r.expected]
    learnt = [expected for expected in learnt if expected.sum() > 0]
    if not learnt:
        return comparison
    shares = np.mean([expected / expected.sum() for expected in learnt], axis=0)
    typical = float(np.median([expected.sum() for expected in learnt]))
    return _with_m(comparison, comparison, shares * typical)


def _broken_m(breaking: float, judged: float) -> float:
    """How often true matches break a rule, the prior worth `PSEUDO_COUNT`."""
    return (breaking + PSEUDO_COUNT * RULE_BROKEN_M) / (judged + PSEUDO_COUNT)


@dataclass(frozen=True)
class Learnt:
    settings: MatchSettings
    # Expected true matches among all pairs of records (None: no rule could tell).
    matches: float | None
    sessions: tuple[SessionResult, ...]


ROUNDS = 2


def learn_m(
    pairs: TrainingPairs, settings: MatchSettings, broken_u: dict[str, float] | None = None
) -> Learnt:
    """`settings` with m learnt from `pairs` (u, fitted already, is kept): each session
    learns its active comparisons' m, and a comparison's m pools what every session
    that could learn it expected. `broken_u` gives, per part of the match rule, how
    often random pairs break it: sessions whose blocking rule leaves that part's
    columns free measure how often true matches do, and the part becomes a measured
    penalty (`required_all_penalty`, `required_any_penalty`) instead of a ban."""
    broken_u = broken_u or {}
    model = {c.name: c for c in settings.comparisons}
    # No penalty to start with: started at its prior, the penalty would keep the pairs
    # that break the rule from ever counting as matches, and so confirm itself.
    broken_m = dict(broken_u)
    results: list[SessionResult] = []
    for _ in range(ROUNDS):
        results = [
            _run_session(pairs, session, model, broken_m, broken_u, settings)
            for session in pairs.sessions
        ]
        model = {c.name: _pooled(c, results) for c in settings.comparisons}
        for part in broken_m:
            counts = [r.breaking[part] for r in results if part in r.breaking]
            broken_m[part] = _broken_m(sum(b for b, _ in counts), sum(j for _, j in counts))
    penalties = {
        part: _penalty(broken_m[part], broken_u[part])
        for part in broken_m
        if any(part in r.breaking for r in results)
    }
    fitted = dataclasses.replace(
        settings,
        comparisons=tuple(monotone(model[c.name]) for c in settings.comparisons),
        required_all_penalty=penalties.get("all", settings.required_all_penalty),
        required_any_penalty=penalties.get("any", settings.required_any_penalty),
    )
    return Learnt(fitted, _total_matches(pairs, fitted, results), tuple(results))


def monotone(comparison: Comparison) -> Comparison:
    """The comparison with no level weighing more than agreeing exactly.

    EM assumes the comparisons independent given the match status. Where a data set's
    duplicates carry one error each (RLdata's), a session whose rule makes the other
    fields agree sees the errors piled up in the field it learns, and "a typo in the
    first name" comes out stronger evidence than the same first name. The same value is
    never weaker evidence than a variant of it: where a level outweighs the exact one,
    the exact level's m is raised to match (m rescaled to sum to one, which moves every
    weight alike). Among the other levels the data decide: an initial agreeing may say
    less than a long name with one typo, whatever order the levels are declared in."""
    levels = list(comparison.levels)
    m = np.array([level.m for level in levels])
    u = np.array([level.u for level in levels])
    ratio = m / u
    strongest = ratio[1:].max(initial=0.0)
    if ratio[0] >= strongest:
        return comparison
    m[0] = u[0] * strongest
    m /= m.sum()
    return dataclasses.replace(
        comparison,
        levels=tuple(
            Level(level.name, float(value), level.u) for level, value in zip(levels, m, strict=True)
        ),
    )


def _total_matches(
    pairs: TrainingPairs, settings: MatchSettings, results: list[SessionResult]
) -> float | None:
    """All true matches, from the rule that finds the largest share of them: a rule on
    compared columns finds a match when both records hold each column and agree on it,
    which the learnt m and the columns' fill rates say how often happens."""
    by_column = {c.column: c for c in settings.comparisons}
    best: tuple[float, float] | None = None
    for result in results:
        if not all(column in by_column for column in result.rule):
            continue  # a derived key: how often matches share it is not modelled
        recall = 1.0
        for column in result.rule:
            comparison = by_column[column]
            recall *= comparison.levels[0].m * pairs.present[comparison.name] ** 2
        if best is None or recall > best[0]:
            best = (recall, result.matches / max(recall, 1e-9))
    return None if best is None or best[0] < MIN_RECALL else best[1]


# A rule that finds fewer of the matches than this says too little about their number.
MIN_RECALL = 0.2
