"""Exact `$count` values, cached per (collection, $filter, $search) for a short time.

OData wants the exact size of the filtered collection on every page, and Salesforce
asks for it on every list view. Counting a million rows takes tens of milliseconds,
far beyond a list view's budget when 20 users share two cores. So a count is
computed once and served for `ttl` seconds: it is exact as of at most that long ago.
Golden tables change only when the pipeline publishes (hourly by default), and each
publication clears the cache (`clear`, called when the service hears of it, see
publications.py); without that notice a count lags a publication by at most `ttl`.

A count that is asked for while older than half its lifetime is recounted in the
background (one recount at a time, on a connection of its own), so a busy list view
never waits for a count once the first one is known. Only a count that is missing
or expired is computed on the request's connection; concurrent requests for the same
key wait for that computation instead of counting in parallel. The cache holds a
bounded number of keys (least recently used go first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

log = logging.getLogger(__name__)

Count = Callable[[Any], int]  # counts on the connection it is given


class CountCache:
    def __init__(
        self,
        ttl: float,
        connect: Callable[[], AbstractContextManager] | None = None,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        # Opens a connection for background recounts; without it counts are only
        # recomputed when they expire.
        self.connect = connect
        self.max_entries = max_entries
        self.clock = clock
        # key -> (time the count started, value)
        self._entries: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._computing: dict[Hashable, threading.Event] = {}
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()
        self._refresher: ThreadPoolExecutor | None = None
        # Counts started before this moment describe data that has been replaced.
        self._valid_from = float("-inf")

    def get(self, key: Hashable, count: Count, conn: object) -> int:
        if self.ttl <= 0:
            return count(conn)
        while True:
            with self._lock:
                now = self.clock()
                entry = self._entries.get(key)
                if entry is not None and now - entry[0] < self.ttl:
                    self._entries.move_to_end(key)
                    if now - entry[0] >= self.ttl / 2:
                        self._refresh_later(key, count)
                    return entry[1]
                pending = self._computing.get(key)
                if pending is None:
                    pending = self._computing[key] = threading.Event()
                    break
            # Another request is counting the same thing; its result will be cached.
            pending.wait(timeout=60)
        try:
            started = self.clock()
            value = count(conn)
            self._store(key, started, value)
            return value
        finally:
            with self._lock:
                del self._computing[key]
            pending.set()

    def clear(self) -> None:
        """Forget every count: the golden tables were published again."""
        with self._lock:
            self._valid_from = self.clock()
            self._entries.clear()

    def close(self) -> None:
        if self._refresher is not None:
            self._refresher.shutdown(wait=False, cancel_futures=True)

    def _store(self, key: Hashable, started: float, value: int) -> None:
        with self._lock:
            if started < self._valid_from:
                return  # counted before a publication: already out of date
            current = self._entries.get(key)
            if current is not None and current[0] > started:
                return  # a newer count landed meanwhile
            self._entries[key] = (started, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _refresh_later(self, key: Hashable, count: Count) -> None:
        # Called with the lock held.
        if self.connect is None or key in self._refreshing or key in self._computing:
            return
        if self._refresher is None:
            self._refresher = ThreadPoolExecutor(1, thread_name_prefix="odata-count")
        self._refreshing.add(key)
        self._refresher.submit(self._refresh, key, count)

    def _refresh(self, key: Hashable, count: Count) -> None:
        assert self.connect is not None
        try:
            started = self.clock()
            with self.connect() as conn:
                value = count(conn)
            self._store(key, started, value)
        except Exception:
            # The count stays as it was and is computed on a request once it expires.
            log.warning("background recount of %r failed", key, exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def __len__(self) -> int:
        return len(self._entries)
