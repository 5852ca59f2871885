"""org360's logins and commands against the Salesforce stand-in: each way of logging in,
credentials that are missing or wrong (named, never shown), and `org360 salesforce
describe` as a user runs it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.settings import parse_settings
from salesforce_api.connection import OrgConnection, SalesforceSourceError
from salesforce_standin import FieldDef, StandinOrg, StandinServer
from tests.helpers.cli import org360

USER, PASSWORD, TOKEN = "integration@acquired.test", "Pa55-word-never-shown", "tok3n"


@pytest.fixture
def standin(monkeypatch) -> Iterator[StandinServer]:
    org = StandinOrg()
    org.add_field("Account", FieldDef("Company_Registration_No__c", "string", length=40))
    org.add_field("Contact", FieldDef("National_Id__c", "string", length=20))
    org.insert("Account", [{"Name": "Acme"}])
    with StandinServer(org) as server:
        server.add_user(USER, PASSWORD, TOKEN)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_path))
        yield server


def _org(server: StandinServer, **credentials):
    raw = {
        "orgs": [
            {
                "key": "acquired",
                "schema": "sf_acquired",
                "source": "salesforce",
                "salesforce": {"login_url": server.url, **credentials},
            }
        ]
    }
    return parse_settings(raw).orgs[0], raw


PASSWORD_LOGIN = {"username_env": "SF_U", "password_env": "SF_P", "security_token_env": "SF_T"}


def test_password_login_reads_limits(standin, monkeypatch):
    monkeypatch.setenv("SF_U", USER)
    monkeypatch.setenv("SF_P", PASSWORD)
    monkeypatch.setenv("SF_T", TOKEN)
    org, _ = _org(standin, **PASSWORD_LOGIN)
    connection = OrgConnection(org)
    first, second = connection.usage(), connection.usage()
    assert first.maximum == 100_000 and second.remaining < first.remaining  # each call costs
    assert connection.sobject_name("account") == "Account" and connection.logins == 1


def test_jwt_bearer_and_client_credentials(standin, monkeypatch, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "org360.key"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    standin.add_jwt_client("consumer-key-1", public.decode(), USER)
    monkeypatch.setenv("SF_U", USER)
    monkeypatch.setenv("SF_KEY", "consumer-key-1")
    org, _ = _org(
        standin, username_env="SF_U", consumer_key_env="SF_KEY", private_key_file=str(pem)
    )
    assert OrgConnection(org).usage().maximum == 100_000

    standin.add_client_credentials("client-1", "client-secret-1", USER)
    monkeypatch.setenv("SF_ID", "client-1")
    monkeypatch.setenv("SF_SECRET", "client-secret-1")
    org, _ = _org(standin, client_id_env="SF_ID", client_secret_env="SF_SECRET")
    assert OrgConnection(org).usage().maximum == 100_000


def test_missing_and_wrong_credentials_are_named_not_shown(standin, monkeypatch):
    monkeypatch.delenv("SF_U", raising=False)
    org, _ = _org(standin, **PASSWORD_LOGIN)
    with pytest.raises(SalesforceSourceError, match="environment variable SF_U"):
        OrgConnection(org).usage()
    monkeypatch.setenv("SF_U", USER)
    monkeypatch.setenv("SF_P", "not-the-password")
    monkeypatch.setenv("SF_T", TOKEN)
    with pytest.raises(SalesforceSourceError) as failed:
        OrgConnection(org).usage()
    message = str(failed.value)
    assert "org 'acquired'" in message and "INVALID_LOGIN" in message
    assert "not-the-password" not in message and TOKEN not in message


def test_describe_suggests_fields_and_stages(standin, tmp_path):
    _, raw = _org(standin, **PASSWORD_LOGIN)
    config = tmp_path / "org360.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    env = {
        **os.environ,
        "SF_U": USER,
        "SF_P": PASSWORD,
        "SF_T": TOKEN,
        "REQUESTS_CA_BUNDLE": str(standin.ca_path),
    }
    done = org360("salesforce", "describe", "--org", "acquired", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Account (account):" in out and "Company_Registration_No__c" in out
    suggested = yaml.safe_load(out[out.index("fields:") :])
    assert suggested["fields"] == {
        "account": {"registration_number": "company_registration_no__c"},
        "contact": {"national_id": "national_id__c"},
    }
    assert "Closed Won" in suggested["stages"] and "Prospecting" in suggested["stages"]
    assert PASSWORD not in out + done.stderr

    wrong = {**env, "SF_P": "wrong-password-xyz"}
    done = org360("salesforce", "describe", "--org", "acquired", "--config", str(config), env=wrong)
    assert done.returncode == 1
    assert "org 'acquired'" in done.stderr and "INVALID_LOGIN" in done.stderr
    assert "Traceback" not in done.stderr and "wrong-password-xyz" not in done.stderr


def test_writeback_without_writeback_orgs_says_so(standin, tmp_path):
    _, raw = _org(standin, **PASSWORD_LOGIN)
    config = tmp_path / "org360.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = org360("writeback", "--dry-run", "--config", str(config))
    assert done.returncode == 2
    assert "has a writeback: entry" in done.stderr and "Traceback" not in done.stderr
