"""Blocking: which records are compared at all.

Each rule names key columns; records that share every key of a rule are candidate
pairs. Pairs are generated with numpy, block size class by block size class,
never with a Python loop over records. Blocks larger than `max_block_size` are
left out: a key shared by hundreds of records (a switchboard number, 'info@')
says little, and other rules still reach the true matches inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BlockingReport:
    rule: str
    pairs: int
    oversized_blocks: int


def _rule_codes(frame: pd.DataFrame, rule: tuple[str, ...]) -> np.ndarray:
    """One integer code per record for its key in this rule; -1 where any key is null."""
    codes = np.zeros(len(frame), dtype=np.int64)
    valid = np.ones(len(frame), dtype=bool)
    multiplier = 1
    for column in rule:
        col_codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        valid &= col_codes >= 0
        codes = codes + col_codes.astype(np.int64) * multiplier
        multiplier *= max(len(uniques), 1) + 1
    if len(rule) > 1:
        # Re-factorise the combined code so it stays small whatever the rule.
        codes, _ = pd.factorize(codes)
    codes = codes.astype(np.int64)
    codes[~valid] = -1
    return codes


def pairs_for_codes(codes: np.ndarray, max_block_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Positions (i < j) of all pairs sharing a code, and how many blocks were too large."""
    positions = np.flatnonzero(codes >= 0)
    if len(positions) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, 0
    order = positions[np.argsort(codes[positions], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    oversized = int(np.sum(sizes > max_block_size))
    lefts, rights = [], []
    for size in np.unique(sizes):
        if size < 2 or size > max_block_size:
            continue
        block_starts = starts[sizes == size]
        members = order[block_starts[:, None] + np.arange(size)[None, :]]
        i, j = np.triu_indices(size, k=1)
        lefts.append(members[:, i].ravel())
        rights.append(members[:, j].ravel())
    if not lefts:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, oversized
    return np.concatenate(lefts), np.concatenate(rights), oversized


def candidate_pairs(
    frame: pd.DataFrame, rules: tuple[tuple[str, ...], ...], max_block_size: int
) -> tuple[np.ndarray, np.ndarray, list[BlockingReport]]:
    """Unique candidate pairs as positional indexes into `frame` (left < right)."""
    n = len(frame)
    keys = []
    reports = []
    for rule in rules:
        left, right, oversized = pairs_for_codes(_rule_codes(frame, rule), max_block_size)
        lo = np.minimum(left, right)
        hi = np.maximum(left, right)
        keys.append(lo * n + hi)
        reports.append(BlockingReport("+".join(rule), len(left), oversized))
    if not keys:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, reports
    unique = np.unique(np.concatenate(keys))
    return unique // n if n else unique, unique % n if n else unique, reports
