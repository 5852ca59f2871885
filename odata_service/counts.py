"""Exact `$count` values, cached per (collection, $filter, $search) for a short time.

OData wants the exact size of the filtered collection on every page, and Salesforce
asks for it on every list view. Counting a million rows takes tens of milliseconds,
far beyond a list view's budget when 20 users share two cores. So a count is
computed once and served for `ttl` seconds: it is exact as of at most that long ago.
Golden tables change only when the pipeline publishes (hourly by default), so a
count lags a publication by at most `ttl`. One computation runs per key at a time;
concurrent requests for the same key wait for it instead of counting in parallel.
The cache holds a bounded number of keys (least recently used go first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class CountCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._computing: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], int]) -> int:
        if self.ttl <= 0:
            return compute()
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] > self.clock():
                    self._entries.move_to_end(key)
                    return entry[1]
                pending = self._computing.get(key)
                if pending is None:
                    pending = self._computing[key] = threading.Event()
                    break
            # Another request is counting the same thing; its result will be cached.
            pending.wait(timeout=60)
        try:
            value = compute()
            with self._lock:
                self._entries[key] = (self.clock() + self.ttl, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._computing[key]
            pending.set()

    def __len__(self) -> int:
        return len(self._entries)
