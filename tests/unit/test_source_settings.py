"""The config of orgs read through the Salesforce API, and of golden-id write-back."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import parse_settings

PASSWORD = {"username_env": "SF_USER", "password_env": "SF_PASS", "security_token_env": "SF_TOK"}


def _org(**entries) -> dict:
    return {"orgs": [{"key": "acq", "schema": "sf_acq", **entries}]}


def _parse(**entries):
    return parse_settings(_org(**entries), source="org360.yaml").orgs[0]


def test_heroku_connect_stays_the_default():
    org = _parse()
    assert org.source == "heroku_connect" and not org.through_api and org.salesforce is None


@pytest.mark.parametrize(
    ("credentials", "auth"),
    [
        (PASSWORD, "password"),
        (
            {"username_env": "U", "consumer_key_env": "K", "private_key_file": "/k.pem"},
            "jwt",
        ),
        ({"client_id_env": "C", "client_secret_env": "S"}, "client_credentials"),
    ],
)
def test_each_way_of_logging_in(credentials, auth):
    org = _parse(source="salesforce", salesforce={"domain": "acme.my", **credentials})
    assert org.through_api and org.salesforce.auth == auth
    assert org.salesforce.base_login_url == "https://acme.my.salesforce.com"


def test_defaults_and_login_url():
    org = _parse(source="salesforce", salesforce=dict(PASSWORD))
    s = org.salesforce
    assert s.domain == "login" and s.base_login_url == "https://login.salesforce.com"
    assert 0 < s.reserve_api_share < 1 and s.page_size > 0 and s.full_sweep_days > 0
    org = _parse(
        source="salesforce", salesforce={**PASSWORD, "login_url": "https://127.0.0.1:8443/"}
    )
    assert org.salesforce.base_login_url == "https://127.0.0.1:8443"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({**PASSWORD, "password": "hunter2"}, "password must not be in the config file"),
        ({"client_secret": "x", "client_id_env": "C"}, "client_secret must not be"),
        ({"username_env": "U"}, "exactly one way of logging in"),
        ({**PASSWORD, "client_id_env": "C"}, "exactly one way of logging in"),
        ({**PASSWORD, "domain": "acme.my.salesforce.com"}, "domain must be login, test"),
        ({**PASSWORD, "login_url": "http://insecure"}, "login_url must be an https address"),
        ({**PASSWORD, "username_env": "lower case"}, "must name an environment variable"),
        ({**PASSWORD, "reserve_api_share": 1.5}, "reserve_api_share"),
        ({**PASSWORD, "page_size": 0}, "page_size"),
        ({**PASSWORD, "colour": "blue"}, "unknown key(s) ['colour']"),
    ],
)
def test_mistakes_are_named(block, expected):
    with pytest.raises(ConfigError) as caught:
        _parse(source="salesforce", salesforce=block)
    message = str(caught.value)
    assert "org360.yaml: org 'acq': salesforce" in message and expected in message
    assert "hunter2" not in message


def test_source_and_block_must_agree():
    with pytest.raises(ConfigError, match="needs source: salesforce"):
        _parse(salesforce=dict(PASSWORD))
    with pytest.raises(ConfigError, match="needs a salesforce: block"):
        _parse(source="salesforce")
    with pytest.raises(ConfigError, match="source must be one of heroku_connect, salesforce"):
        _parse(source="bulk")


def test_writeback_field():
    org = _parse(writeback={"field": "Org360_Golden_Id__c"})
    assert org.writeback.field == "Org360_Golden_Id__c"
    assert org.writeback.column == "org360_golden_id__c"
    for wrong in ({"field": "Name"}, {"field": "X__c", "objects": ["account"]}, "X__c"):
        with pytest.raises(ConfigError, match="writeback"):
            _parse(writeback=wrong)


def test_an_api_org_cannot_be_archived():
    raw = _org(source="salesforce", salesforce=dict(PASSWORD))
    raw["retention"] = [{"org": "acq", "object": "account", "older_than_days": 30}]
    with pytest.raises(ConfigError, match="needs an org synced by Connect"):
        parse_settings(raw, source="org360.yaml")
