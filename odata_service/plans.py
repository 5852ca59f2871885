"""Plans of recent requests, so that a repeated request skips parsing and planning.

Salesforce sends the same request again and again: every user who opens a list view
asks for the same columns, order, `$top` and `$count`. Parsing the options and
building the SQL cost more Python time than running the statement, so the plan of a
request (its options and statements, no rows) is kept by the request's path, query
string and page size. Plans depend on nothing else (the model is fixed at startup),
so they never go stale. The caller decides what is worth keeping (a request with a
`$skiptoken` or a search term is rarely asked twice). At most `max_entries` plans are
kept (about 20 KB each), the least recently used going first, so memory stays bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class PlanCache:
    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], tuple[T, bool]]) -> T:
        """The plan for `key`, built by `build` (plan, keep) when not kept already."""
        with self._lock:
            plan = self._entries.get(key)
            if plan is not None:
                self._entries.move_to_end(key)
                return plan  # type: ignore[return-value]
        # Built outside the lock: two threads may build the same plan, harmlessly.
        plan, keep = build()
        if keep:
            with self._lock:
                self._entries[key] = plan
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return plan

    def __len__(self) -> int:
        return len(self._entries)
