"""fork_map: tasks on forked workers, results in order, errors raised in the parent."""

from __future__ import annotations

import os

import numpy as np
import pytest

from warehouse.parallel import can_fork, fork_map

SHARED = np.arange(1_000_000)  # what the workers read without it being pickled

pytestmark = pytest.mark.skipif(not can_fork(), reason="fork is not available here")


def test_tasks_run_in_forked_workers_and_return_in_order():
    ran_alongside = []
    results = fork_map(
        lambda i: (os.getpid(), int(SHARED[i * 1000 : (i + 1) * 1000].sum())),
        count=5,
        workers=2,
        alongside=lambda: ran_alongside.append(os.getpid()),
    )
    assert [total for _, total in results] == [
        int(SHARED[i * 1000 : (i + 1) * 1000].sum()) for i in range(5)
    ]
    pids = {pid for pid, _ in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert ran_alongside == [os.getpid()]


def test_one_worker_runs_the_tasks_in_this_process():
    assert fork_map(lambda i: os.getpid(), count=3, workers=1) == [os.getpid()] * 3


def test_a_failing_task_fails_the_map_with_its_error():
    def task(i: int) -> int:
        if i == 2:
            raise ValueError("piece 2 could not be scored")
        return i

    with pytest.raises(ValueError, match="piece 2 could not be scored"):
        fork_map(task, count=4, workers=2)
    # The map is usable again afterwards.
    assert fork_map(lambda i: i * 2, count=3, workers=2) == [0, 2, 4]
