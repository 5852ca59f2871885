"""`org360 serve`: both HTTP services in one process, as a Heroku web dyno runs them."""

import os
import socket
import subprocess
import sys
import time

import httpx

from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_one_web_process_serves_odata_and_the_archive_api(database_url, tmp_path):
    seed_demo(database_url, companies=15)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    port = _free_port()
    env = {
        **os.environ,
        "ORG360_API_USER": "salesforce",
        "ORG360_API_PASSWORD": "s3cret-for-tests",
        "ORG360_API_TOKENS": "",
        "ORG360_API_ANONYMOUS": "",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(port),
            "--config",
            str(config),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    auth = ("salesforce", "s3cret-for-tests")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/odata/", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "org360 serve did not start"
                time.sleep(0.2)

        accounts = httpx.get(base + "/odata/Accounts", params={"$top": "2"}, auth=auth)
        assert accounts.status_code == 200
        assert accounts.headers["OData-Version"] == "4.0"
        assert len(accounts.json()["value"]) == 2

        assert httpx.get(base + "/odata/Accounts").status_code == 401
        assert (
            httpx.get(base + "/api/v1/jobs/00000000-0000-0000-0000-000000000000").status_code == 401
        )
        missing = httpx.get(base + "/api/v1/jobs/00000000-0000-0000-0000-000000000000", auth=auth)
        assert missing.status_code == 404
        refused = httpx.post(
            base + "/api/v1/archive",
            json={"org": "latam", "object": "contact", "sfids": ["003Am0000000000001"]},
            auth=auth,
        )
        assert refused.status_code in (400, 422) and "latam" in refused.text
    finally:
        server.terminate()
        server.wait(timeout=20)
        server.stdout.close()


def test_serve_refuses_to_start_without_credentials(database_url, tmp_path):
    config = write_config(tmp_path / "org360.yaml", database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORG360_API_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--port",
            str(_free_port()),
            "--config",
            str(config),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no credentials configured" in result.stderr
    assert "Traceback" not in result.stderr
