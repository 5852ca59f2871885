"""A command that runs another program leaves with it: the stop signal reaches the
child's whole process group, and what ignores it is killed after the grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.helpers.procfile import alive, descendants

# A parent that runs `child` through core.processes.run_child with a one-second grace;
# the child starts a grandchild that ignores SIGTERM, then waits for it.
_PARENT = """
import signal, sys
from core.processes import run_child
child = ["bash", "-c", "trap '' TERM; sleep 300 & wait"]
sys.exit(run_child(child, grace=1.0))
"""


def test_the_stop_signal_reaches_every_descendant_and_stubborn_ones_are_killed():
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], cwd=os.getcwd())
    deadline = time.monotonic() + 20
    while len(descendants(parent.pid)) < 2:  # bash and sleep
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    started = descendants(parent.pid)
    began = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    code = parent.wait(timeout=15)
    assert time.monotonic() - began < 10
    time.sleep(0.2)
    assert not [pid for pid in started if alive(pid)]
    assert code == 128 + signal.SIGKILL  # the child ignored SIGTERM: killed after 1 s


def test_a_child_that_stops_on_the_signal_gives_its_exit_code():
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT.replace("trap '' TERM; ", "")], cwd=os.getcwd()
    )
    deadline = time.monotonic() + 20
    while len(descendants(parent.pid)) < 2:
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 128 + signal.SIGTERM
