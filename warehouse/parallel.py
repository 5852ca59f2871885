"""Work split across forked processes that share what their parent has loaded.

A comparison step loads its records and computes their features once (hundreds of MB
at a million records). Workers forked after that read them copy-on-write, where
spawned workers, or Dagster steps of their own, would each load them again. Where
fork is not available (Windows), and with one worker, the tasks run in this process.

A task runs in a child: the engines passed to `fork_map` open connections of their
own there (never the parent's sockets), and a task returns only what pickles cheaply.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine

T = TypeVar("T")

# The task of the current `fork_map`, read by the forked workers (a closure cannot be
# pickled, and need not be: the children inherit it).
_TASK: Callable[[int], object] | None = None


def _run(index: int) -> object:
    assert _TASK is not None, "fork_map's task is set before its workers fork"
    return _TASK(index)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    return os.cpu_count() or 1


def fork_map(
    task: Callable[[int], T],
    count: int,
    workers: int,
    engines: Sequence[Engine] = (),
    alongside: Callable[[], None] | None = None,
) -> list[T]:
    """`[task(0), ..., task(count - 1)]`, on up to `workers` forked processes; this
    process runs `alongside` meanwhile."""
    global _TASK
    if workers <= 1 or count + (alongside is not None) <= 1 or not can_fork():
        results = [task(index) for index in range(count)]
        if alongside is not None:
            alongside()
        return results
    if _TASK is not None:
        raise RuntimeError("fork_map does not nest")
    _TASK = task
    try:
        with ProcessPoolExecutor(
            max_workers=min(workers, count),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_own_connections,
            initargs=(tuple(engines),),
        ) as pool:
            futures = [pool.submit(_run, index) for index in range(count)]
            if alongside is not None:
                alongside()
            return [future.result() for future in futures]  # type: ignore[misc]
    finally:
        _TASK = None


def forked(task: Callable[[int], T], count: int) -> list[T]:
    """`fork_map` on every CPU: how the matching library's steps (`dedupe.lead_match`)
    spread their tasks here."""
    return fork_map(task, count, default_workers())


def _own_connections(engines: tuple[Engine, ...]) -> None:
    # SQLAlchemy's recipe for an engine across fork: the child drops the pool it
    # inherited without closing the parent's connections, and opens its own.
    for engine in engines:
        engine.dispose(close=False)


def in_background(task: Callable[[], T]) -> Future[T]:
    """`task` on a thread of its own, for work that mostly waits on Postgres (psycopg2
    lets go of the GIL meanwhile): this thread carries on with its own work."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="org360-background")
    future = pool.submit(task)
    pool.shutdown(wait=False)  # the thread ends with the task
    return future
