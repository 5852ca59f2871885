import pytest
from pydantic import ValidationError

from archive_service.models import MAX_IDS_PER_REQUEST, JobRequest

SFID = "0015000000Gv7qJAAR"


def test_a_request_names_records_by_sfid_or_by_criteria():
    assert JobRequest(org="amer", object="account", sfids=[SFID]).sfids == [SFID]
    by_criteria = JobRequest(org="amer", object="account", criteria={"older_than_days": 90})
    assert by_criteria.criteria.older_than_days == 90


@pytest.mark.parametrize(
    "body",
    [
        {"org": "amer", "object": "account"},
        {"org": "amer", "object": "account", "sfids": [SFID], "criteria": {"older_than_days": 1}},
        {"org": "amer", "object": "account", "sfids": []},
        {"org": "amer", "object": "account", "criteria": {}},
        {"org": "amer", "object": "account", "criteria": {"where": {}}},
        {"org": "amer", "object": "opportunity", "sfids": [SFID]},
        {"org": "Amer", "object": "account", "sfids": [SFID]},
        {"org": "amer", "object": "account", "sfids": ["not an id"]},
        {"org": "amer", "object": "account", "sfids": [SFID], "extra": 1},
        {"org": "amer", "object": "account", "criteria": {"where": {"name; --": "x"}}},
        {"org": "amer", "object": "account", "criteria": {"where": {"name": "a\x00"}}},
        {"org": "amer", "object": "account", "criteria": {"older_than_days": 0}},
        {"org": "amer", "object": "account", "sfids": [SFID], "callback_url": "ftp://x.example"},
    ],
)
def test_malformed_requests_are_refused(body):
    with pytest.raises(ValidationError):
        JobRequest.model_validate(body)


def test_at_most_a_hundred_thousand_ids():
    with pytest.raises(ValidationError, match=str(MAX_IDS_PER_REQUEST)):
        JobRequest(org="amer", object="account", sfids=[SFID] * (MAX_IDS_PER_REQUEST + 1))
