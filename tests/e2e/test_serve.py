"""`org360 serve`: both HTTP services in one process, as a Heroku web dyno runs them."""

import os

import httpx

from pipelines.runner import run_all
from tests.helpers.cli import API_PASSWORD, API_USER, free_port, org360, serving
from tests.helpers.orgs import seed_demo, write_config


def test_one_web_process_serves_odata_and_the_archive_api(database_url, tmp_path):
    seed_demo(database_url, companies=15)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)
    auth = (API_USER, API_PASSWORD)
    with serving(config) as base:
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


def test_serve_refuses_to_start_without_credentials(database_url, tmp_path):
    config = write_config(tmp_path / "org360.yaml", database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORG360_API_")}
    result = org360(
        "serve", "--port", str(free_port()), "--config", str(config), env=env, timeout=60
    )
    assert result.returncode == 2
    assert "no credentials configured" in result.stderr
    assert "Traceback" not in result.stderr
