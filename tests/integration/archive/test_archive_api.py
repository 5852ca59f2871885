"""The HTTP API on a real server: the contract, and bad input refused with a clear 4xx
that changes nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text

from tests.integration.archive import connect_sim
from tests.integration.archive.conftest import API_TOKEN


@pytest.fixture
def contacts(runtime) -> list[str]:
    with runtime.engine.begin() as conn:
        return connect_sim.sync_from_salesforce(conn, "amer_sf", "contact", 20)


def state(runtime) -> tuple:
    """Everything a refused request must leave untouched."""
    with runtime.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM archive.job),"
                " (SELECT count(*) FROM archive.job_record),"
                " (SELECT count(*) FROM amer_sf.contact),"
                " (SELECT count(*) FROM amer_sf._trigger_log),"
                " (SELECT count(*) FROM procrastinate_jobs)"
            )
        ).one()


def test_post_answers_202_with_a_job_id_and_the_job_is_queued(client, runtime, contacts):
    response = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": contacts[:3]}
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    status = client.get(f"/api/v1/jobs/{job_id}")
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "queued" and body["total"] == 3 and body["processed"] == 0
    assert body["counts"]["archived"] == 0 and body["counts"]["unarchived"] == 0
    with runtime.engine.connect() as conn:
        queued = conn.execute(
            text("SELECT task_name, args->>'job_id', status FROM procrastinate_jobs")
        ).all()
    assert queued == [("archive.run_job", job_id, "todo")]
    records = client.get(f"/api/v1/jobs/{job_id}/records", params={"limit": 2}).json()
    assert len(records["records"]) == 2 and records["next_after"] == records["records"][1]["sfid"]


def test_fifteen_character_ids_are_accepted_and_duplicates_counted_once(client, contacts):
    ids = [contacts[0][:15], contacts[0], contacts[1]]
    response = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": ids}
    )
    assert response.status_code == 202
    assert client.get(response.headers["location"]).json()["total"] == 2


def test_bearer_tokens_are_accepted(api, contacts):
    with api.client(auth=None, headers={"Authorization": f"Bearer {API_TOKEN}"}) as c:
        response = c.post(
            "/api/v1/unarchive", json={"org": "amer", "object": "contact", "sfids": contacts[:1]}
        )
    assert response.status_code == 202


BAD_REQUESTS = [
    (
        "unknown org",
        {"org": "apac", "object": "contact", "sfids": ["003000000000001AAA"]},
        422,
        "unknown_org",
    ),
    (
        "unknown object",
        {"org": "amer", "object": "lead", "sfids": ["003000000000001AAA"]},
        422,
        "invalid_request",
    ),
    (
        "malformed id",
        {"org": "amer", "object": "contact", "sfids": ["003-not-an-id"]},
        422,
        "invalid_request",
    ),
    (
        "bad checksum",
        {"org": "amer", "object": "contact", "sfids": ["003000000000001ZZZ"]},
        422,
        "invalid_ids",
    ),
    ("empty list", {"org": "amer", "object": "contact", "sfids": []}, 422, "invalid_request"),
    (
        "ids and criteria",
        {
            "org": "amer",
            "object": "contact",
            "sfids": ["003000000000001AAA"],
            "criteria": {"older_than_days": 5},
        },
        422,
        "invalid_request",
    ),
    ("no selector", {"org": "amer", "object": "contact"}, 422, "invalid_request"),
    (
        "empty criteria",
        {"org": "amer", "object": "contact", "criteria": {}},
        422,
        "invalid_request",
    ),
    (
        "unknown column",
        {
            "org": "amer",
            "object": "contact",
            "criteria": {"where": {"favourite_colour__c": "blue"}},
        },
        422,
        "invalid_criteria",
    ),
    (
        "value of the wrong type",
        {"org": "amer", "object": "contact", "criteria": {"where": {"birthdate": "last tuesday"}}},
        422,
        "invalid_criteria",
    ),
    (
        "injection in a column name",
        {"org": "amer", "object": "contact", "criteria": {"where": {"x; DROP TABLE y": 1}}},
        422,
        "invalid_request",
    ),
    (
        "unarchive-only criteria",
        {
            "org": "amer",
            "object": "contact",
            "criteria": {"archived_before": "2024-01-01T00:00:00Z"},
        },
        422,
        "invalid_criteria",
    ),
    (
        "callback not http",
        {
            "org": "amer",
            "object": "contact",
            "sfids": ["003000000000001AAA"],
            "callback_url": "file:///etc/passwd",
        },
        422,
        "invalid_request",
    ),
    (
        "unknown field",
        {"org": "amer", "object": "contact", "sfids": ["003000000000001AAA"], "priority": "high"},
        422,
        "invalid_request",
    ),
    (
        "NUL in a value",
        {"org": "amer", "object": "contact", "criteria": {"where": {"lastname": "a\u0000b"}}},
        422,
        "invalid_request",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[c[0] for c in BAD_REQUESTS],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    client, runtime, contacts, body, status, code
):
    before = state(runtime)
    response = client.post("/api/v1/archive", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert state(runtime) == before


def test_too_many_ids_and_oversized_bodies_are_refused_before_parsing(client, runtime, contacts):
    before = state(runtime)
    many = [connect_sim.fake_sfid("contact", n) for n in range(100_001)]
    response = client.post(
        "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": many}
    )
    assert response.status_code == 422
    assert "100000" in response.json()["error"]["message"]

    million = json.dumps(
        {"org": "amer", "object": "contact", "sfids": ["003000000000001AAA"] * 1_000_000}
    )
    response = client.post(
        "/api/v1/archive", content=million, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    # Streamed without a Content-Length: counted while reading.
    def chunks():
        for start in range(0, len(million), 65536):
            yield million[start : start + 65536].encode()

    response = client.post(
        "/api/v1/archive", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert state(runtime) == before


def test_not_json_is_a_422(client, runtime, contacts):
    before = state(runtime)
    response = client.post(
        "/api/v1/archive", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert state(runtime) == before


@pytest.mark.parametrize(
    "auth",
    [None, ("salesforce", "wrong"), ("someone", "s3cret-pass")],
    ids=["missing", "wrong password", "wrong user"],
)
def test_missing_or_wrong_credentials_get_401_and_change_nothing(api, runtime, contacts, auth):
    before = state(runtime)
    with api.client(auth=auth) as c:
        response = c.post(
            "/api/v1/archive", json={"org": "amer", "object": "contact", "sfids": contacts[:1]}
        )
        assert c.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000").status_code == 401
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorised"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert state(runtime) == before
    with api.client(auth=None, headers={"Authorization": "Bearer not-the-token"}) as c:
        assert c.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000").status_code == 401


def test_unknown_jobs_are_404_and_malformed_job_ids_422(client):
    missing = client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
    assert client.get("/api/v1/jobs/not-a-uuid").status_code == 422
    assert client.get("/api/v1/nothing-here").status_code == 404


def test_openapi_document_is_public_and_declares_both_auth_schemes(api):
    document = httpx.get(f"{api.url}/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"basic", "bearer"}
    assert {"/api/v1/archive", "/api/v1/unarchive", "/api/v1/jobs/{job_id}"} <= set(
        document["paths"]
    )
    assert httpx.get(f"{api.url}/health").json() == {"status": "ok"}
