"""A service's standard output, in JSON format, is one JSON event per line, including
what Python would otherwise print on its own: an uncaught exception, one in a thread,
and one it can only ignore while the interpreter exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers.cli import REPO

PROGRAM = """
import sys, threading, weakref
from core import logs

logs.configure()

class Resource:
    pass

def release_interrupted():
    raise KeyboardInterrupt  # a signal arriving while the exit handlers run

kept = Resource()
weakref.finalize(kept, release_interrupted)
worker = threading.Thread(target=lambda: 1 / 0, name="helper")
worker.start()
worker.join()
quitter = threading.Thread(target=sys.exit, name="quitter")  # ends quietly
quitter.start()
quitter.join()
raise LookupError("the last words")
"""


def test_what_python_prints_by_itself_is_a_json_event():
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env={**os.environ, "ORG360_LOG_FORMAT": "json"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == ""
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["event"].rsplit(": ", 1)[-1] for e in events] == [
        "ZeroDivisionError",
        "LookupError",
        "KeyboardInterrupt",
    ]
    assert all(e["level"] == "error" and "Traceback" in e["error"] for e in events)
    assert events[0]["event"].startswith("in thread helper")
    assert "the last words" in events[1]["error"]
    assert events[2]["event"].startswith("Exception ignored in atexit callback")
