"""`org360 demo --api-org`: one demo org read through the Salesforce API, from the
stand-in, prints the same quality as when every org comes through Heroku Connect."""

import os
import subprocess
import sys


def _demo(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _quality(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Quality of golden.xref"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Done in"))
    return lines[start:end]


def test_the_demo_through_the_api_matches_the_demo_through_connect(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "ORG360_HOME": str(tmp_path)}
    connect = _demo(env=env)
    assert connect.returncode == 0, connect.stderr
    api = _demo("--api-org", env=env)
    assert api.returncode == 0, api.stderr
    assert "org emea moved into a Salesforce stand-in at https://127.0.0.1:" in api.stdout
    assert "salesforce [emea] Account:" in api.stderr  # extracted through the API
    assert _quality(api.stdout) == _quality(connect.stdout)
    assert "source: salesforce" in (tmp_path / "demo.yaml").read_text()
