"""A publication reaches the service at once: cached counts do not outlive it."""

from __future__ import annotations

import time

from tests.integration.odata.conftest import execute, running_server, seeded_database


def count(client) -> int:
    response = client.get("Accounts/$count")
    assert response.status_code == 200, response.text
    return int(response.text)


def test_counts_follow_a_publication_at_once(pg_admin_url, template_database):
    with (
        seeded_database(pg_admin_url, template_database) as url,
        # Counts could be served for an hour; the notice must make them exact anyway.
        running_server(url, count_ttl_seconds=3600) as server,
        server.client() as client,
    ):
        before = count(client)
        execute(
            url,
            "INSERT INTO golden.account (golden_id, name, member_count, orgs, provenance) "
            "SELECT 'GA95' || lpad(i::text, 4, '0'), 'New ' || i, 1, 'org_a', '{}' "
            "FROM generate_series(1, 10) AS i",
        )
        assert count(client) == before  # cached: nothing was published yet
        execute(url, "SELECT pg_notify('org360_publication', '')")
        deadline = time.monotonic() + 10
        while count(client) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count(client) == before + 10
