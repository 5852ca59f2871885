"""The requests Salesforce Connect sends, and $filter/$orderby/$search semantics, against
a real server over a seeded database."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import text

from core.database import make_engine
from tests.integration.odata.conftest import ACCOUNTS, CONTACTS

ALL_ACCOUNTS = ACCOUNTS + 3


def values(client, url: str, **kwargs) -> list[dict]:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def ids(client, url: str) -> list[str]:
    return [row["GoldenId"] for row in values(client, url)]


def sql_ids(
    database_url: str, where: str, order: str = "golden_id", table: str = "account"
) -> list[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = conn.execute(
            text(f"SELECT golden_id FROM golden.{table} WHERE {where} ORDER BY {order}")
        ).scalars()
        result = list(found)
    engine.dispose()
    return result


def test_salesforce_list_view(client):
    response = client.get(
        "Accounts?$select=GoldenId,Name,Phone,BillingCity,BillingCountry"
        "&$count=true&$top=26&$orderby=Name asc"
    )
    assert response.status_code == 200
    document = response.json()
    assert document["@odata.context"].endswith(
        "$metadata#Accounts(GoldenId,Name,Phone,BillingCity,BillingCountry)"
    )
    assert document["@odata.count"] == ALL_ACCOUNTS
    assert "@odata.nextLink" not in document
    rows = document["value"]
    assert len(rows) == 26
    assert set(rows[0]) == {"GoldenId", "Name", "Phone", "BillingCity", "BillingCountry"}
    names = [r["Name"] for r in rows]
    assert names[0] == "100% Natural_Foods"
    assert names == sorted(names, key=lambda n: (n.lower(), n)) or len(set(names)) == 26


def test_salesforce_record_page_by_key(client):
    response = client.get("Accounts('GA900001')?$select=GoldenId,Name,Website,LastModified")
    assert response.status_code == 200
    assert response.json() == {
        "@odata.context": str(client.base_url)
        + "$metadata#Accounts(GoldenId,Name,Website,LastModified)/$entity",
        "GoldenId": "GA900001",
        "Name": "O'Brien & Sons",
        "Website": None,
        "LastModified": "2024-05-06T07:08:09.123456Z",
    }
    by_name = client.get("Accounts(GoldenId='GA900001')?$select=Name").json()
    assert by_name["Name"] == "O'Brien & Sons"


def test_salesforce_search_filter(client, odata_server):
    url = (
        "Accounts?$select=GoldenId,Name,Phone&$top=25&$orderby=GoldenId&$filter="
        "contains(Name,'ACME') eq true or contains(Phone,'7946 0011') eq true"
    )
    found = ids(client, url)
    expected = sql_ids(
        odata_server.database_url, "name ILIKE '%acme%' OR phone LIKE '%7946 0011%'"
    )[:25]
    assert found == expected and "GA000011" in found


def test_free_text_search(client):
    assert ids(client, "Accounts?$search=brien&$select=GoldenId") == ["GA900001"]
    assert ids(client, 'Accounts?$search="natural_foods"&$select=GoldenId') == ["GA900002"]
    assert ids(client, "Accounts?$search=zürich OR brien&$select=GoldenId&$orderby=Name") == [
        "GA900001",
        "GA900003",
    ]
    stark = ids(client, "Accounts?$search=stark NOT corp&$select=GoldenId")
    assert stark and all(
        "Corp" not in r["Name"]
        for r in values(client, "Accounts?$search=stark NOT corp&$select=Name&$top=500")
    )


def test_eq_returns_values_exactly_as_stored(client):
    for key in ("GA900001", "GA000042"):
        row = values(client, f"Accounts?$filter=GoldenId eq '{key}'&$select=GoldenId")
        assert row == [{"GoldenId": key}]
    assert ids(client, "Accounts?$filter=" + quote("Name eq 'O''Brien & Sons'")) == ["GA900001"]
    assert ids(client, "Accounts?$filter=" + quote("Name eq 'Zürich Versicherung'")) == ["GA900003"]
    # Case matters for eq (the external id must match as stored).
    assert ids(client, "Accounts?$filter=GoldenId eq 'ga900001'") == []


def test_like_wildcards_in_values_are_literal(client):
    assert ids(client, "Accounts?$filter=contains(Name,'100%25')&$select=GoldenId") == ["GA900002"]
    assert ids(client, "Accounts?$filter=contains(Name,'l_F')") == ["GA900002"]
    assert ids(client, "Accounts?$filter=startswith(Name,'%25')") == []


@pytest.mark.parametrize(
    ("odata", "sql"),
    [
        ("Website ne null", "website IS NOT NULL"),
        ("Website eq null", "website IS NULL"),
        ("BillingCity ne 'Paris'", "billing_city IS DISTINCT FROM 'Paris'"),
        ("not (BillingCity eq 'Paris')", "billing_city IS DISTINCT FROM 'Paris'"),
        ("BillingCity in ('Paris', 'Berlin')", "billing_city IN ('Paris', 'Berlin')"),
        ("BillingCity in ('Paris', null)", "billing_city = 'Paris' OR billing_city IS NULL"),
        ("Employees gt 100 and Employees le 200", "employees > 100 AND employees <= 200"),
        (
            "Employees ge 2000 or AnnualRevenue lt 5000",
            "employees >= 2000 OR annual_revenue < 5000",
        ),
        ("(Employees add 5) mul 2 eq 50", "(employees + 5) * 2 = 50"),
        ("Employees mod 7 eq 0", "employees % 7 = 0"),
        ("-Employees lt -2300", "-employees < -2300"),
        ("AnnualRevenue ge 1.5e5", "annual_revenue >= 150000"),
        ("LastModified gt 2024-01-10T00:00:00Z", "last_modified > '2024-01-10T00:00:00Z'"),
        ("LastModified lt 2024-01-02", "last_modified < '2024-01-02T00:00:00Z'"),
        ("LastModified ge 2024-01-05T01:00:00+01:00", "last_modified >= '2024-01-05T00:00:00Z'"),
        (
            "year(LastModified) eq 2024 and month(LastModified) eq 1 and day(LastModified) eq 3",
            "last_modified >= '2024-01-03' AND last_modified < '2024-01-04'",
        ),
        ("hour(LastModified) eq 5", "extract(hour FROM last_modified) = 5"),
        ("date(LastModified) eq 2024-01-04", "last_modified::date = '2024-01-04'"),
        ("startswith(Name,'acme') eq true", "name ILIKE 'acme%'"),
        ("endswith(Name,'ltd 1') eq true", "name ILIKE '%ltd 1'"),
        ("contains(Name,'gmbh') eq false", "name NOT ILIKE '%gmbh%'"),
        ("not contains(Website,'example1')", "website NOT ILIKE '%example1%'"),
        ("substringof('Wayne', Name)", "name ILIKE '%wayne%'"),
        ("tolower(Name) eq 'globex ltd 1'", "lower(name) = 'globex ltd 1'"),
        ("toupper(BillingCity) eq 'PARIS'", "upper(billing_city) = 'PARIS'"),
        ("length(Name) eq 11", "char_length(name) = 11"),
        ("indexof(Name,'Corp') eq 5", "strpos(name, 'Corp') = 6"),
        ("substring(Name,0,5) eq 'Stark'", "substr(name, 1, 5) = 'Stark'"),
        ("substring(Name,6) eq 'Corp 24'", "substr(name, 7) = 'Corp 24'"),
        ("trim(concat(' ', Name)) eq 'Acme Corp 24'", "name = 'Acme Corp 24'"),
        (
            "concat(concat(BillingCity,'/'),BillingCountry) eq 'Paris/France'",
            "billing_city = 'Paris' AND billing_country = 'France'",
        ),
        ("round(AnnualRevenue) eq 1001", "round(annual_revenue) = 1001"),
        (
            "floor(AnnualRevenue) eq 1000 or ceiling(AnnualRevenue) eq 2002",
            "floor(annual_revenue) = 1000 OR ceiling(annual_revenue) = 2002",
        ),
        ("Employees eq Employees", "employees IS NOT DISTINCT FROM employees"),
        ("LastModified lt now()", "last_modified < now()"),
        ("true", "true"),
    ],
)
def test_filter_semantics_match_sql(client, odata_server, odata, sql):
    found = ids(client, "Accounts?$select=GoldenId&$orderby=GoldenId&$filter=" + quote(odata))
    assert found == sql_ids(odata_server.database_url, sql)


def test_orderby_several_keys(client, odata_server):
    url = "Accounts?$select=GoldenId&$top=1000&$orderby=BillingCity desc,Employees,Name desc"
    expected = sql_ids(
        odata_server.database_url,
        "true",
        "billing_city DESC, employees ASC, name DESC, golden_id",
    )
    assert ids(client, url) == expected


def test_top_skip_and_count(client):
    everything = ids(client, "Accounts?$select=GoldenId&$orderby=Name&$top=1000")
    assert len(everything) == ALL_ACCOUNTS
    assert (
        ids(client, "Accounts?$select=GoldenId&$orderby=Name&$skip=10&$top=5")
        == (everything[10:15])
    )
    document = client.get("Accounts?$top=0&$count=true").json()
    assert document["value"] == [] and document["@odata.count"] == ALL_ACCOUNTS
    assert client.get("Accounts?$count=false").json().get("@odata.count") is None
    assert client.get("Accounts/$count").text == str(ALL_ACCOUNTS)
    assert client.get("Accounts/$count?$filter=BillingCity eq 'Paris'").text == "49"
    assert client.get("Contacts/$count").text == str(CONTACTS)


def test_navigation(client):
    contacts = values(
        client,
        "Accounts('GA000002')/Contacts?$select=GoldenId,AccountGoldenId&$count=true&$orderby=GoldenId",
    )
    assert {c["AccountGoldenId"] for c in contacts} == {"GA000002"}
    assert [c["GoldenId"] for c in contacts] == ["GC000001", "GC000241", "GC000481"]
    assert client.get("Accounts('GA000002')/Contacts/$count").text == "3"
    filtered = values(
        client,
        "Accounts('GA000002')/Contacts?$filter=GoldenId ne 'GC000001'"
        "&$select=GoldenId&$orderby=GoldenId",
    )
    assert [c["GoldenId"] for c in filtered] == ["GC000241", "GC000481"]
    account = client.get("Contacts('GC000001')/Account?$select=GoldenId").json()
    assert account["GoldenId"] == "GA000002"
    assert client.get("Contacts('GC000050')/Account").status_code == 204
    sources = values(
        client, "Accounts('GA000002')/SourceRecords?$select=SourceKey,Object&$orderby=SourceKey"
    )
    assert sources == [
        {"SourceKey": "account/org_a/001A00000000000002", "Object": "account"},
        {"SourceKey": "account/org_b/001B00000000000002", "Object": "account"},
    ]
    assert client.get("Accounts('GA999999')/Contacts").status_code == 404
    assert client.get("Contacts('GC999999')/Account").status_code == 404


def test_source_record_keys_with_slashes(client):
    for path in (
        "SourceRecords('account/org_b/001B00000000000007')",
        "SourceRecords('account%2Forg_b%2F001B00000000000007')",
        "SourceRecords(SourceKey='account/org_b/001B00000000000007')",
    ):
        response = client.get(path + "?$select=GoldenId,Org,IsSurvivor")
        assert response.status_code == 200, path
        assert response.json()["GoldenId"] == "GA000007"
        assert response.json()["IsSurvivor"] is False
    survivors = values(client, "SourceRecords?$filter=IsSurvivor eq true and Object eq 'account'")
    assert len(survivors) == ACCOUNTS and all(r["Org"] == "org_a" for r in survivors)


def test_other_entity_sets(client):
    reviews = values(client, "DuplicateReviews?$orderby=Probability desc&$top=2")
    assert [r["ReviewId"] for r in reviews] == ["R0030", "R0029"]
    assert values(client, "ArchivedAccounts?$filter=Name eq 'x'&$count=true") == []
    assert values(client, "ArchivedContacts?$search=smith") == []
    contacts = values(client, "Contacts?$filter=Birthdate lt 1970-02-01&$select=GoldenId,Birthdate")
    assert contacts == [{"GoldenId": "GC000001", "Birthdate": "1970-01-18"}]
