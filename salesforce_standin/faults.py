"""Faults to inject on demand, so that client code can be tested against the failures a
real org produces: sessions that die mid-extract, 503s and request-limit 403s, Bulk query
jobs that fail, ingest rows rejected by validation rules, and result downloads whose
connection drops half-way.

The object only holds what is pending; the server consults it on each request. It is shared
between the test thread and the server thread, so every change happens under a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = ("unavailable", "request_limit")


@dataclass
class _Failure:
    remaining: int
    kind: str
    path_contains: str | None


class Faults:
    """Pending faults. Sessions are not stored here: `session_epoch` counts expiries, and a
    session created under an older epoch is dead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.session_epoch = 0
        self._expire_countdown: int | None = None
        self._failures: list[_Failure] = []
        self._query_job_failures: dict[str, list[str]] = {}
        self._cuts: dict[int, int] = {}
        # Record id -> the sf__Error text its ingest (update/upsert/delete) row fails with.
        self.ingest_errors: dict[str, str] = {}

    # -- sessions ---------------------------------------------------------------------
    def expire_sessions(self) -> None:
        """Every session issued so far is dead from now on; new logins work."""
        with self._lock:
            self.session_epoch += 1
            self._expire_countdown = None

    def expire_sessions_after(self, n: int) -> None:
        """The next `n` authenticated API requests succeed, then every session then alive
        dies (request n + 1 gets 401 INVALID_SESSION_ID)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._expire_countdown = n

    def tick_session(self) -> bool:
        """Called once per authenticated API request; True if sessions die at this one."""
        with self._lock:
            if self._expire_countdown is None:
                return False
            if self._expire_countdown == 0:
                self._expire_countdown = None
                self.session_epoch += 1
                return True
            self._expire_countdown -= 1
            return False

    # -- request failures -------------------------------------------------------------
    def fail_next(
        self, n: int, kind: str = "unavailable", path_contains: str | None = None
    ) -> None:
        """The next `n` /services/data requests whose path contains `path_contains` (any,
        if None) fail: 503 SERVER_UNAVAILABLE or 403 REQUEST_LIMIT_EXCEEDED."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        if n > 0:
            with self._lock:
                self._failures.append(_Failure(n, kind, path_contains))

    def take_failure(self, path: str) -> str | None:
        """The kind of failure this request gets, if any (and count it)."""
        with self._lock:
            for failure in self._failures:
                if failure.path_contains is None or failure.path_contains in path:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure.kind
        return None

    # -- bulk query jobs ----------------------------------------------------------------
    def fail_query_job(self, object_name: str, message: str) -> None:
        """The next Bulk query job on `object_name` ends Failed with this errorMessage."""
        with self._lock:
            self._query_job_failures.setdefault(object_name.lower(), []).append(message)

    def take_query_job_failure(self, object_name: str) -> str | None:
        with self._lock:
            pending = self._query_job_failures.get(object_name.lower())
            return pending.pop(0) if pending else None

    def cut_results(self, page: int, times: int = 1) -> None:
        """While sending the `page`-th results page of a Bulk query job (1-based, counted
        per job), send the headers and part of the body, then drop the connection; do so
        `times` times in all, across jobs and retries."""
        if page < 1 or times < 1:
            raise ValueError("page and times are >= 1")
        with self._lock:
            self._cuts[page] = self._cuts.get(page, 0) + times

    def take_cut(self, page: int) -> bool:
        with self._lock:
            left = self._cuts.get(page, 0)
            if left <= 0:
                return False
            if left == 1:
                del self._cuts[page]
            else:
                self._cuts[page] = left - 1
            return True

    # -- all ----------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every pending fault (sessions already expired stay expired)."""
        with self._lock:
            self._expire_countdown = None
            self._failures.clear()
            self._query_job_failures.clear()
            self._cuts.clear()
            self.ingest_errors.clear()

    def apply(self, spec: dict[str, Any]) -> None:
        """Apply a JSON fault spec (the admin endpoint's body). Keys: clear,
        expire_sessions, expire_sessions_after, fail_next {n, kind, path_contains},
        fail_query_job {object_name, message}, ingest_errors {id: message},
        cut_results {page, times}; the dict-valued ones also take a list of dicts."""
        if spec.get("clear"):
            self.clear()
        if spec.get("expire_sessions"):
            self.expire_sessions()
        if spec.get("expire_sessions_after") is not None:
            self.expire_sessions_after(int(spec["expire_sessions_after"]))
        for item in _as_list(spec.get("fail_next")):
            self.fail_next(
                int(item.get("n", 1)), item.get("kind", "unavailable"), item.get("path_contains")
            )
        for item in _as_list(spec.get("fail_query_job")):
            self.fail_query_job(item["object_name"], item["message"])
        if spec.get("ingest_errors"):
            with self._lock:
                self.ingest_errors.update(
                    {str(k): str(v) for k, v in spec["ingest_errors"].items()}
                )
        for item in _as_list(spec.get("cut_results")):
            self.cut_results(int(item.get("page", 1)), int(item.get("times", 1)))


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
