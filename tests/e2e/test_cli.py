"""The CLI as a user runs it, in a subprocess."""

import os
import re
import subprocess
import sys


def _org360(*args, env, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
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


def test_db_url_and_config_errors(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "ORG360_HOME": str(tmp_path)}
    url = _org360("db", "url", "--config", str(tmp_path / "none.yaml"), env=env)
    assert url.returncode == 0 and url.stdout.strip().startswith("postgresql+psycopg2://")

    bad = tmp_path / "bad.yaml"
    bad.write_text("orgs:\n  - {key: amer, schema: sf_nowhere}\n")
    result = _org360("run", "--config", str(bad), env=env)
    assert result.returncode == 2
    assert "schema 'sf_nowhere' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
