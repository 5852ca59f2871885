import pytest

from core.database import normalise_url
from core.errors import ConfigError
from core.settings import parse_settings


def test_defaults_priority_from_list_order_and_lowercases_columns():
    settings = parse_settings(
        {
            "orgs": [
                {"key": "amer", "schema": "sf_amer"},
                {
                    "key": "emea",
                    "schema": "sf_emea",
                    "fields": {"account": {"registration_number": "DUNS_Number__c"}},
                },
            ]
        }
    )
    assert [o.priority for o in settings.orgs] == [1, 2]
    assert settings.org("emea").field_overrides("account") == {
        "registration_number": "duns_number__c"
    }
    with pytest.raises(ConfigError, match="unknown org 'apac'"):
        settings.org("apac")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"orgs": [{"key": "a", "schema": "x"}], "extra": 1}, "unknown top-level key"),
        ({"orgs": [{"key": "a", "schema": "x y"}]}, "must be a Postgres schema name"),
        ({"orgs": [{"key": "a", "schema": "x"}, {"key": "b", "schema": "x"}]}, "already used"),
        ({"orgs": [{"key": "a", "schema": "x", "priority": "high"}]}, "priority must be"),
        ({"orgs": [{"key": "a", "schema": "x", "fields": {"memo": {}}}]}, "unknown object 'memo'"),
        ({"orgs": [{"key": "a", "schema": "x"}], "schedule": "hourly"}, "cron string"),
        ({"orgs": [{"key": "a", "schema": "x"}], "main_org": "b"}, "main_org must be the key"),
    ],
)
def test_config_errors_say_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw)


def test_database_urls_normalise_to_psycopg2():
    assert normalise_url("postgres://u:p@h:5432/db") == "postgresql+psycopg2://u:p@h:5432/db"
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg2://")
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        normalise_url("mysql://u@h/db")


def test_compare_shards_default_and_bad_values():
    orgs = [{"key": "amer", "schema": "sf_amer"}]
    assert parse_settings({"orgs": orgs}).compare_shards == 4
    assert parse_settings({"orgs": orgs, "compare_shards": 16}).compare_shards == 16
    for bad in (0, -2, 1000, "4", 2.5, True):
        with pytest.raises(ConfigError, match="compare_shards must be a whole number"):
            parse_settings({"orgs": orgs, "compare_shards": bad})
