import pytest

from archive_service.config import READ_ONLY_COLUMNS, ArchiveOptions, psycopg_conninfo
from core.errors import ConfigError


def test_options_default_without_environment():
    options = ArchiveOptions.from_env({})
    assert options == ArchiveOptions()
    assert options.read_only_columns == READ_ONLY_COLUMNS


def test_options_are_read_from_prefixed_variables():
    options = ArchiveOptions.from_env(
        {
            "ORG360_ARCHIVE_BATCH_SIZE": "250",
            "ORG360_ARCHIVE_STALLED_AFTER_SECONDS": "2.5",
            "ORG360_ARCHIVE_EXTERNAL_ID_FIELD": " Archive_Key__c ",
            "ORG360_ARCHIVE_READ_ONLY_COLUMNS": "createddate, SystemModstamp",
            "ORG360_ARCHIVE_JOB_MAX_ATTEMPTS": "",
        }
    )
    assert options.batch_size == 250
    assert options.stalled_after_seconds == 2.5
    assert options.external_id_field == "archive_key__c"
    assert options.read_only_columns == ("createddate", "systemmodstamp")
    assert options.job_max_attempts == ArchiveOptions().job_max_attempts


@pytest.mark.parametrize(("name", "value"), [("BATCH_SIZE", "many"), ("BATCH_SIZE", "0")])
def test_bad_option_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=f"ORG360_ARCHIVE_{name}"):
        ArchiveOptions.from_env({f"ORG360_ARCHIVE_{name}": value})


def test_conninfo_for_the_embedded_servers_socket_url():
    url = "postgresql+psycopg2://postgres:@/org360?host=%2Fsrv%2Forg360%2Fpg"
    assert psycopg_conninfo(url) == "dbname=org360 user=postgres host=/srv/org360/pg"


def test_conninfo_keeps_password_port_and_options():
    url = "postgresql+psycopg2://u:p%40ss@db.example:6543/d?sslmode=require"
    assert psycopg_conninfo(url) == (
        "dbname=d user=u password=p@ss host=db.example port=6543 sslmode=require"
    )
