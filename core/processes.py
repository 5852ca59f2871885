"""Children that leave with their parent: a long-running org360 command that starts
another program (the Dagster daemon, `dagster dev`) runs it in a process group of its
own, passes SIGTERM and SIGINT on to that whole group, and kills what is still there
after a grace period, so no process outlives the command and no port stays bound.

Platforms stop a process with SIGTERM and kill it 30 seconds later (Heroku, Docker,
Kubernetes by default); the grace period leaves time to exit before that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO

log = logging.getLogger("org360.processes")

# Seconds a child's group has to exit after the stop signal, before SIGKILL.
GRACE_SECONDS = 20.0
_STOPPING = (signal.SIGTERM, signal.SIGINT)


def run_child(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
    grace: float = GRACE_SECONDS,
    to_stdout: bool = False,
) -> int:
    """Run `command` in its own process group until it exits or this process is asked
    to stop; then send the group `stop_signal` (what the program takes for "shut down
    cleanly"), wait up to `grace` seconds, and kill whatever is left. Returns the
    child's exit code (128 + signal number when a signal ended it).

    `to_stdout`: the child's standard output and error are copied to this process's
    standard output line by line, without terminal colour codes (log routers store
    them as text)."""
    child = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        start_new_session=True,
        stdout=subprocess.PIPE if to_stdout else None,
        stderr=subprocess.STDOUT if to_stdout else None,
    )
    copier = None
    if to_stdout:
        copier = threading.Thread(target=_copy_lines, args=(child.stdout,), daemon=True)
        copier.start()
    # When each stop signal arrived (monotonic seconds).
    received: list[float] = []

    def _forward(signum: int, _frame: object) -> None:
        first = not received
        received.append(time.monotonic())
        if first:
            log.info("%s received: stopping %s", signal.Signals(signum).name, command[-1])
            _signal_group(child.pid, stop_signal)

    previous = {signum: signal.signal(signum, _forward) for signum in _STOPPING}
    killed = False
    try:
        while (code := child.poll()) is None:
            time.sleep(0.1)
            if received and not killed and time.monotonic() - received[0] > grace:
                log.warning("%s did not stop within %.0f s: killed", command[0], grace)
                _signal_group(child.pid, signal.SIGKILL)
                killed = True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # The child has gone (or this process is leaving): so does what it started.
        stop_group(child.pid, stop_signal, grace=min(grace, 5.0))
        if copier is not None:
            copier.join(timeout=2)
    return 128 - code if code < 0 else code


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _copy_lines(stream: IO[bytes]) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(_COLOUR.sub("", line.decode("utf-8", errors="replace")))
        sys.stdout.flush()
    stream.close()


def stop_group(pgid: int, stop_signal: signal.Signals = signal.SIGTERM, grace: float = 5.0) -> None:
    """Send `stop_signal` to process group `pgid`, then SIGKILL it if any member is left
    after `grace` seconds."""
    if not _signal_group(pgid, stop_signal):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)


def _running() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every running process (zombies count as
    gone), from /proc (Linux: where org360's services run)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # pid (comm) state ppid pgrp ...: comm may hold spaces; split after it.
                fields = stat.read().rpartition(")")[2].split()
            if fields[0] != "Z":
                found.append((int(entry), int(fields[1]), int(fields[2])))
    return found


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return any(group == pgid for _, _, group in _running())


def _signal_group(pgid: int, signum: signal.Signals) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    return True


def signal_self(signum: signal.Signals) -> None:
    """Ask this process to stop as if the platform had: its handlers do the rest."""
    os.kill(os.getpid(), signum)


def children(pid: int | None = None) -> list[int]:
    """The running child processes of `pid` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return [child for child, parent, _ in _running() if parent == pid]


def stop_children(grace: float = 5.0) -> None:
    """SIGTERM every child this process still has, and SIGKILL those left after
    `grace` seconds: the last step of a service's shutdown, so that nothing it
    started (a library's helper process included) outlives it."""
    left = children()
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [pid for pid in left if pid in children()]
    for pid in left:
        log.warning("process %d did not stop within %.0f s: killed", pid, grace)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
