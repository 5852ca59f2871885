"""The files a platform reads to deploy org360 agree with each other and with the code:
app.json's formation is the Procfile's processes, its config is a valid org360
config, its secrets are generated, and the Python version is one org360 supports."""

import json
import tomllib
from pathlib import Path

import yaml

from core.settings import parse_settings
from service_auth import PASSWORD_VAR, USER_VAR
from tests.helpers.procfile import read_procfile

ROOT = Path(__file__).resolve().parents[2]


def test_app_json_runs_every_procfile_process_on_heroku_postgres():
    app = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))
    processes = read_procfile(ROOT / "Procfile")
    assert set(app["formation"]) == set(processes) - {"release"}
    assert processes["release"] == "org360 db migrate"
    assert processes["scheduler"] == "org360 daemon"
    assert [a["plan"].split(":")[0] for a in app["addons"]] == ["heroku-postgresql"]
    assert all(spec["quantity"] >= 1 for spec in app["formation"].values())
    assert app["formation"]["scheduler"]["quantity"] == 1  # one daemon per deployment


def test_app_json_config_is_valid_and_its_secret_generated():
    env = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))["env"]
    settings = parse_settings(yaml.safe_load(env["ORG360_CONFIG_YAML"]["value"]), "app.json")
    assert settings.org_keys
    assert env[USER_VAR]["value"]
    assert env[PASSWORD_VAR] == {**env[PASSWORD_VAR], "generator": "secret"}
    assert "value" not in env[PASSWORD_VAR]


def test_the_python_version_is_one_org360_supports():
    version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    minimum = project["requires-python"].removeprefix(">=")
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731
    assert as_tuple(version) >= as_tuple(minimum)
    assert (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()[-1] == "."
