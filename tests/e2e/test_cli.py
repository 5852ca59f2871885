"""The CLI as a user runs it, in a subprocess."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from sqlalchemy import create_engine

from tests.helpers.procfile import alive, descendants


def _org360(*args, env, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_runs_the_pipeline_and_reports_quality(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "ORG360_HOME": str(tmp_path)}
    result = _org360("demo", env=env)
    assert result.returncode == 0, result.stderr
    assert "golden.account" in result.stdout
    for obj in ("accounts", "contacts"):
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(obj))
        precision, recall = map(float, re.findall(r"(?:precision|recall) ([0-9.]+)", line))
        assert precision >= 0.95 and recall >= 0.90, line
    assert "staging.account [amer]" in result.stderr  # progress is shown

    # `org360 run` on the config the demo wrote works the same, and a second run
    # finds nothing to change.
    rerun = _org360("run", "--config", str(tmp_path / "demo.yaml"), env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "golden.account:" in rerun.stderr and "0 new, 0 changed, 0 removed" in rerun.stderr

    # Both commands' runs are in Dagster's storage in org360's database, schema
    # dagster, and the UI (webserver and daemon) reads them from there.
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT status, count(*) FROM dagster.runs GROUP BY 1")
        assert dict(stored.all()) == {"SUCCESS": 8}  # 3 orgs' staging + consolidation, twice
    engine.dispose()
    assert "env: ORG360_DAGSTER_STORAGE_URL" in (tmp_path / "dagster_home/dagster.yaml").read_text()
    runs = _runs_seen_by_the_ui(tmp_path / "demo.yaml", env)
    assert len(runs) == 8 and {r["status"] for r in runs} == {"SUCCESS"}
    assert {r["jobName"] for r in runs} == {"staging_job", "consolidation_job"}

    # What matching learnt from the demo's records, as the user asks for it.
    model = _org360(
        "model", "--object", "contact", "--config", str(tmp_path / "demo.yaml"), env=env
    )
    assert model.returncode == 0, model.stderr
    prior = re.search(r"prior: 1 in ([0-9,]+) pairs", model.stdout)
    assert prior and int(prior.group(1).replace(",", "")) > 100, model.stdout
    assert re.search(r"one of first_name, .* agrees': -\d+\.\d bits, measured", model.stdout)
    learnt = re.search(r"email +exact +([0-9.]+) \(0\.750\)", model.stdout)
    assert learnt and float(learnt.group(1)) != 0.75, model.stdout  # learnt, not configured


def test_the_model_before_any_run_says_how_to_fit_it(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "ORG360_HOME": str(tmp_path)}
    result = _org360("model", env=env)
    assert result.returncode == 0, result.stderr
    assert "not fitted yet: `org360 run` fits it to your records" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _runs_seen_by_the_ui(config, env) -> list[dict]:
    port = _free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ui", "--config", str(config), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # `dagster dev` starts a webserver and a daemon: stop them all
    )
    query = json.dumps({"query": "{runsOrError {... on Runs {results {jobName status}}}}"})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=query.encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)["data"]["runsOrError"]["results"]
            except OSError:
                assert ui.poll() is None, "org360 ui exited"
                assert time.monotonic() < deadline, "the Dagster UI did not answer in 120 s"
                time.sleep(1)
    finally:
        _stop_group(ui)


def _stop_group(process: subprocess.Popen) -> None:
    """Stop `org360 ui` as a platform does, SIGTERM to it alone: it stops `dagster dev`
    and everything that started (webserver, daemon, code servers) within 30 s, and
    leaves no process behind."""
    started = descendants(process.pid)
    assert started, "org360 ui started nothing"
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        time.sleep(0.5)
        survivors = {pid for pid in started if alive(pid)}
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert not survivors


def test_db_url_and_config_errors(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "ORG360_HOME": str(tmp_path)}
    url = _org360("db", "url", "--config", str(tmp_path / "none.yaml"), env=env)
    assert url.returncode == 0 and url.stdout.strip().startswith("postgresql+psycopg2://")
    # Dagster's storage for running `dagster dev` yourself: schema dagster, created.
    storage = _org360("db", "dagster-url", "--config", str(tmp_path / "none.yaml"), env=env)
    assert storage.returncode == 0, storage.stderr
    engine = create_engine(storage.stdout.strip())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_schema()").scalar() == "dagster"
    engine.dispose()

    bad = tmp_path / "bad.yaml"
    bad.write_text("orgs:\n  - {key: amer, schema: sf_nowhere}\n")
    result = _org360("run", "--config", str(bad), env=env)
    assert result.returncode == 2
    assert "schema 'sf_nowhere' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
