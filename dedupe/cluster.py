"""Clustering that will not chain: greedy merges, strongest evidence first, refusing
any merge that would put two records known to differ into one cluster.

Must-links (steward decisions) merge first; cannot-links (steward decisions,
vetoes such as two different registration numbers, and pairs scored as certainly
different) keep clusters apart, transitively: a cluster never holds both sides
of a cannot-link, however many matching records sit between them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class _Clusters:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self.members: dict[int, list[int]] = {}
        self.forbidden: dict[int, set[int]] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return int(root)

    def _members(self, root: int) -> list[int]:
        return self.members.get(root, [root])

    def forbid(self, a: int, b: int) -> None:
        self.forbidden.setdefault(a, set()).add(b)
        self.forbidden.setdefault(b, set()).add(a)

    def conflicts(self, ra: int, rb: int) -> bool:
        small, large = (ra, rb) if len(self._members(ra)) <= len(self._members(rb)) else (rb, ra)
        for member in self._members(small):
            for other in self.forbidden.get(member, ()):
                if self.find(other) == large:
                    return True
        return False

    def union(self, ra: int, rb: int) -> None:
        if len(self._members(ra)) < len(self._members(rb)):
            ra, rb = rb, ra
        self.parent[rb] = ra
        merged = self._members(ra) + self._members(rb)
        self.members[ra] = merged
        self.members.pop(rb, None)


def _ids(values: Iterable[int]) -> np.ndarray:
    return np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.int64)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of `n` nodes and edges left-right: each node's smallest
    node in its component. Vectorised hooking and pointer jumping, no Python loop
    over nodes or edges."""
    label = np.arange(n, dtype=np.int64)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    while len(left):
        a, b = label[left], label[right]
        pending = a != b
        if not pending.any():
            break
        a, b = a[pending], b[pending]
        low = np.minimum(a, b)
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        while True:  # point every node at its root
            parent = label[label]
            if np.array_equal(parent, label):
                break
            label = parent
    return label


def cluster(
    n: int,
    match_left: np.ndarray,
    match_right: np.ndarray,
    match_weight: np.ndarray,
    cannot_left: Iterable[int] = (),
    cannot_right: Iterable[int] = (),
    must_left: Iterable[int] = (),
    must_right: Iterable[int] = (),
) -> np.ndarray:
    """Cluster label (the smallest member position) for each of `n` records.

    Only a connected group of matches that holds both sides of a cannot-link needs
    the greedy merge; every other group is one cluster as it stands. So the greedy
    runs on those few groups alone, with the same result as over everything.
    """
    match_left, match_right = _ids(match_left), _ids(match_right)
    must_left, must_right = _ids(must_left), _ids(must_right)
    cannot_left, cannot_right = _ids(cannot_left), _ids(cannot_right)
    group = components(
        n, np.concatenate([match_left, must_left]), np.concatenate([match_right, must_right])
    )
    inside = group[cannot_left] == group[cannot_right]
    contested = np.isin(group, group[cannot_left[inside]])
    labels = group.copy()
    if not contested.any():
        return labels
    # Renumber the contested groups' records 0..k-1 (in order, so smallest stays smallest).
    nodes = np.flatnonzero(contested)
    position = np.full(n, -1, dtype=np.int64)
    position[nodes] = np.arange(len(nodes))

    def local(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = contested[left] & contested[right]
        return position[left[keep]], position[right[keep]], keep

    ml, mr, keep = local(match_left, match_right)
    sub = _greedy(
        len(nodes),
        (ml, mr, np.asarray(match_weight)[keep]),
        local(cannot_left, cannot_right)[:2],
        local(must_left, must_right)[:2],
    )
    labels[nodes] = nodes[sub]
    return labels


Pairs = tuple[np.ndarray, np.ndarray]


def strongest_inside(
    labels: np.ndarray, left: np.ndarray, right: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Each record's strongest pair (of `left`/`right` positions, with `weight`) whose
    records share its cluster label; NaN for a record without one."""
    out = np.full(len(labels), np.nan)
    inside = labels[left] == labels[right]
    for ends in (left, right):
        np.fmax.at(out, ends[inside], weight[inside])
    return out


def _greedy(
    n: int, matches: tuple[np.ndarray, np.ndarray, np.ndarray], cannot: Pairs, must: Pairs
) -> np.ndarray:
    """Merge strongest first (ties by record, so the input order does not matter),
    refusing merges across a cannot-link; smallest-member labels."""
    match_left, match_right, match_weight = matches
    clusters = _Clusters(n)
    for a, b in zip(*cannot, strict=True):
        clusters.forbid(int(a), int(b))
    # Steward must-links first, unless they contradict a steward cannot-link.
    for a, b in zip(*must, strict=True):
        ra, rb = clusters.find(int(a)), clusters.find(int(b))
        if ra != rb and not clusters.conflicts(ra, rb):
            clusters.union(ra, rb)
    order = np.lexsort((match_right, match_left, -np.asarray(match_weight, dtype=np.float64)))
    for index in order:
        ra = clusters.find(int(match_left[index]))
        rb = clusters.find(int(match_right[index]))
        if ra != rb and not clusters.conflicts(ra, rb):
            clusters.union(ra, rb)
    roots = np.array([clusters.find(i) for i in range(n)], dtype=np.int64)
    # Label each cluster by its smallest member so labels do not depend on merge order.
    labels = np.full(n, n, dtype=np.int64)
    np.minimum.at(labels, roots, np.arange(n, dtype=np.int64))
    return labels[roots]
