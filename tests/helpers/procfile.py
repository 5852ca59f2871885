"""Start the Procfile's processes the way a platform does: the release command first,
then each process type from its Procfile line, through bash, in a process group of
its own, with `$PORT` for `web`; stop one with SIGTERM and see how long it takes and
whether anything it started is left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.processes import children, group_alive

REPO = Path(__file__).resolve().parents[2]


def read_procfile(path: Path = REPO / "Procfile") -> dict[str, str]:
    processes = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.startswith("#"):
            processes[name.strip()] = command.strip()
    return processes


def descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        for child in children(frontier.pop()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Stopped:
    seconds: float
    returncode: int
    survivors: set[int]
    group_left: bool


@dataclass
class Formation:
    env: dict[str, str]
    logs: Path
    processes: dict[str, str] = field(default_factory=read_procfile)
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # `org360` as the platform's PATH finds it: the virtualenv's script.
        bin_dir = str(Path(sys.executable).parent)
        self.env = {**self.env, "PATH": f"{bin_dir}:{self.env.get('PATH', os.defpath)}"}
        self.logs.mkdir(parents=True, exist_ok=True)

    def release(self, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", self.processes["release"]],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, name: str, as_name: str | None = None, **env: str) -> subprocess.Popen:
        log = open(self.logs / f"{as_name or name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            ["bash", "-c", self.processes[name]],
            env={**self.env, **env},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running[as_name or name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, name: str, timeout: float = 30) -> Stopped:
        """SIGTERM to the process, as a platform sends it; how long it took to exit,
        and which of the processes it had started (at any depth) are still there."""
        process = self.running.pop(name)
        started = descendants(process.pid)
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = -999
        seconds = time.monotonic() - began
        time.sleep(0.5)
        survivors = {pid for pid in started if alive(pid)}
        left = group_alive(process.pid)
        _kill(process.pid, survivors)
        return Stopped(seconds, code, survivors, left)

    def stop_all(self) -> None:
        for name in list(self.running):
            process = self.running.pop(name)
            survivors = descendants(process.pid)
            _kill(process.pid, survivors | {process.pid})
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def _kill(pgid: int, pids: set[int]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
