"""Server-driven paging: @odata.nextLink with keyset skip tokens, Prefer: odata.maxpagesize,
$count on every page, and every row exactly once even while rows change."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text

from core.database import make_engine
from tests.integration.odata.conftest import ACCOUNTS, CONTACTS, execute

ALL_ACCOUNTS = ACCOUNTS + 3


def walk(client, url: str, page_size: int | None = None) -> list[dict]:
    """Every page of a collection, following next links as Salesforce does."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        document = response.json()
        pages.append(document)
        url = document.get("@odata.nextLink")
    return pages


def test_next_links_return_every_row_once_with_count_on_each_page(client):
    pages = walk(client, "Accounts?$select=GoldenId,Name&$count=true", page_size=50)
    assert [len(p["value"]) for p in pages] == [50] * 4 + [ALL_ACCOUNTS - 200]
    assert all(p["@odata.count"] == ALL_ACCOUNTS for p in pages)
    keys = [row["GoldenId"] for page in pages for row in page["value"]]
    assert keys == sorted(keys) and len(set(keys)) == ALL_ACCOUNTS
    first = client.get("Accounts?$top=1000", headers={"Prefer": "odata.maxpagesize=50"})
    assert first.headers["preference-applied"] == "odata.maxpagesize=50"
    next_link = first.json()["@odata.nextLink"]
    assert next_link.startswith(str(client.base_url) + "Accounts?")
    assert "$skip=" not in next_link and "$top=950" in next_link


def test_paging_by_nullable_columns_in_both_directions(client, odata_server):
    url = "Accounts?$select=Name&$orderby=BillingCity desc,Employees asc,Name"
    rows = [row for page in walk(client, url, page_size=17) for row in page["value"]]
    engine = make_engine(odata_server.database_url)
    with engine.connect() as conn:
        expected = conn.execute(
            text(
                "SELECT name FROM golden.account "
                "ORDER BY billing_city DESC, employees, name, golden_id"
            )
        ).scalars()
        assert [r["Name"] for r in rows] == list(expected)
    engine.dispose()


def test_top_spans_pages(client):
    pages = walk(client, "Contacts?$select=GoldenId&$top=120", page_size=50)
    assert [len(p["value"]) for p in pages] == [50, 50, 20]
    keys = [r["GoldenId"] for p in pages for r in p["value"]]
    assert keys == [f"GC{i:06d}" for i in range(1, 121)]


def test_text_searches_page_in_order_like_any_other_request(client, odata_server):
    # Searches are found through the trigram indexes first and sorted after; pages
    # still follow the requested order then the key, by $skiptoken or by $top/$skip.
    condition = "contains(Name,'corp') eq true or contains(Phone,'7946 00') eq true"
    url = f"Accounts?$select=GoldenId,Name&$orderby=Name desc&$count=true&$filter={condition}"
    pages = walk(client, url, page_size=7)
    rows = [r["GoldenId"] for p in pages for r in p["value"]]
    engine = make_engine(odata_server.database_url)
    with engine.connect() as conn:
        expected = list(
            conn.execute(
                text(
                    "SELECT golden_id FROM golden.account "
                    "WHERE name ILIKE '%corp%' OR phone LIKE '%7946 00%' "
                    "ORDER BY name DESC, golden_id"
                )
            ).scalars()
        )
    engine.dispose()
    assert len(pages) > 3 and rows == expected
    assert all(p["@odata.count"] == len(expected) for p in pages)
    by_skip = [
        r["GoldenId"]
        for skip in range(0, len(expected), 26)
        for r in client.get(f"{url}&$top=26&$skip={skip}").json()["value"]
    ]
    assert by_skip == expected


def test_a_token_is_only_good_for_its_own_order(client):
    first = client.get("Accounts?$orderby=Name", headers={"Prefer": "odata.maxpagesize=5"})
    token = first.json()["@odata.nextLink"].split("$skiptoken=")[1]
    other = client.get(f"Accounts?$orderby=Phone&$skiptoken={token}")
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "InvalidSkipToken"
    same = client.get(f"Accounts?$orderby=Name&$skiptoken={token}&$top=1")
    assert same.status_code == 200


def test_pages_never_exceed_two_thousand_rows(fresh_odata_server):
    execute(
        fresh_odata_server.database_url,
        "INSERT INTO golden.account (golden_id, name, member_count, orgs, provenance) "
        "SELECT 'GX' || lpad(i::text, 6, '0'), 'Bulk ' || i, 1, 'org_a', '{}' "
        "FROM generate_series(1, 2500) AS i",
    )
    with fresh_odata_server.client() as client:
        asked = client.get(
            "Accounts?$select=GoldenId", headers={"Prefer": "odata.maxpagesize=5000"}
        )
        assert len(asked.json()["value"]) == 2000
        assert asked.headers["preference-applied"] == "odata.maxpagesize=2000"
        assert len(client.get("Accounts?$select=GoldenId").json()["value"]) == 2000
        over_top = client.get("Accounts?$select=GoldenId&$top=2600").json()
        assert len(over_top["value"]) == 2000 and "$top=600" in over_top["@odata.nextLink"]
        pages = walk(client, "Accounts?$select=GoldenId&$count=true")
        assert [len(p["value"]) for p in pages] == [2000, 2500 + ALL_ACCOUNTS - 2000]


def test_every_row_exactly_once_while_rows_change(fresh_odata_server):
    url = fresh_odata_server.database_url
    with fresh_odata_server.client(headers={"Prefer": "odata.maxpagesize=100"}) as client:
        seen: list[str] = []
        next_url = "Contacts?$select=GoldenId,Name,Email&$orderby=Name&$count=true"
        page_number = 0
        deleted: set[str] = set()
        deleted_ahead: set[str] = set()
        while next_url:
            document = client.get(next_url).json()
            seen.extend(row["GoldenId"] for row in document["value"])
            next_url = document.get("@odata.nextLink")
            page_number += 1
            if page_number in (1, 3):
                # Between pages: delete rows already seen and rows still ahead, insert
                # rows before and after the cursor, and edit rows still ahead.
                unseen = sorted(set(_contact_ids(url)) - set(seen))
                ahead = unseen[page_number::37][:10]
                victims = ahead + seen[:3]
                deleted.update(victims)
                deleted_ahead.update(ahead)
                execute(
                    url,
                    "DELETE FROM golden.contact WHERE golden_id = ANY(:ids)",
                    ids=victims,
                )
                execute(
                    url,
                    "INSERT INTO golden.contact (golden_id, last_name, name, member_count, "
                    "orgs, provenance) SELECT 'GN' || :page || lpad(i::text, 4, '0'), n, n, 1, "
                    "'org_a', '{}' FROM generate_series(1, 20) AS i, "
                    "LATERAL (SELECT CASE WHEN i % 2 = 0 THEN 'Aaron ' ELSE 'Zed ' END || i"
                    " AS n) x",
                    page=str(page_number),
                )
                execute(
                    url,
                    "UPDATE golden.contact SET email = 'changed@example.com' "
                    "WHERE golden_id = ANY(:ids)",
                    ids=unseen[1::5],
                )
    duplicates = [key for key, n in Counter(seen).items() if n > 1]
    assert duplicates == []
    stable = {f"GC{i:06d}" for i in range(1, CONTACTS + 1)} - deleted
    assert stable <= set(seen)
    assert not set(seen) & deleted_ahead


def _contact_ids(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = list(conn.execute(text("SELECT golden_id FROM golden.contact")).scalars())
    engine.dispose()
    return found
