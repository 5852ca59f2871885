"""The stand-in Salesforce, driven through simple-salesforce itself over HTTPS: logins,
describe, limits, REST and Bulk API 2.0 queries, the `deleted` resource, ingest jobs with
partial failures, every injected fault, and the CLI in a subprocess."""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import jwt
import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import SalesforceLogin, soap_login, token_login

from salesforce_standin import FieldDef, StandinOrg, StandinProcess, StandinServer
from salesforce_standin.ids import is_valid_id

USER, PASSWORD, TOKEN = "integration@org-a.example.com", "s3cret&<pass>", "TOKEN123"
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the org."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def org(clock: Clock) -> StandinOrg:
    org = StandinOrg(org_id="00D000000000001AAA", multi_currency=True, clock=clock)
    org.add_field("Account", FieldDef("Org360_Golden_Id__c", "string", length=18, external_id=True))
    return org


@pytest.fixture
def server(org: StandinOrg, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandinServer]:
    with StandinServer(org) as server:
        server.add_user(USER, PASSWORD, TOKEN)
        # requests lets REQUESTS_CA_BUNDLE override a Session's `verify`: point it here too.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_path)
        yield server


@pytest.fixture
def http(server: StandinServer) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = server.ca_path
    yield session
    session.close()


def _login(server: StandinServer, http: requests.Session) -> Salesforce:
    session_id, instance = SalesforceLogin(
        username=USER,
        password=PASSWORD,
        security_token=TOKEN,
        session=http,
        scratch_url=server.url,
    )
    return Salesforce(instance_url=f"https://{instance}", session_id=session_id, session=http)


@pytest.fixture
def sf(server: StandinServer, http: requests.Session) -> Salesforce:
    return _login(server, http)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _accounts(org: StandinOrg, n: int) -> list[str]:
    return org.insert(
        "Account",
        [
            {
                "Name": f"Account {i:03d}",
                "Phone": f"+44 20 7946 {i:04d}",
                "AnnualRevenue": 1000.5 * i if i % 2 else None,
                "NumberOfEmployees": i,
                "BillingCountry": "United Kingdom",
            }
            for i in range(n)
        ],
    )


# -- logins -----------------------------------------------------------------------------
def test_soap_login_with_the_right_password_and_refuses_a_wrong_one(server, http):
    session_id, instance = SalesforceLogin(
        username=USER,
        password=PASSWORD,
        security_token=TOKEN,
        session=http,
        scratch_url=server.url,
    )
    assert instance == f"127.0.0.1:{server.port}"
    assert session_id.startswith("00D000000000001!")

    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        SalesforceLogin(
            username=USER,
            password="wrong",
            security_token=TOKEN,
            session=http,
            scratch_url=server.url,
        )
    assert failed.value.code == "INVALID_LOGIN"

    # soap_login itself, with a body of our own: the full URL carries the version.
    body = (
        '<?xml version="1.0" encoding="utf-8" ?><env:Envelope '
        'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
        f"<urn:username>{USER}</urn:username><urn:password>nope</urn:password>"
        "</urn:login></env:Body></env:Envelope>"
    )
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        soap_login(
            f"{server.url}/services/Soap/u/60.0",
            body,
            {"content-type": "text/xml", "SOAPAction": "login"},
            None,
            http,
        )
    assert failed.value.code == "INVALID_LOGIN"
    assert "Invalid username, password" in str(failed.value)


def _jwt(
    key: rsa.RSAPrivateKey, aud: str, exp: datetime, sub: str = USER, iss: str = "consumer-key"
) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # As simple-salesforce builds it, `exp` a string.
    return jwt.encode(
        {"iss": iss, "sub": sub, "aud": aud, "exp": f"{exp.timestamp():.0f}"},
        pem,
        algorithm="RS256",
    )


def test_jwt_bearer_login(server, http):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    server.add_jwt_client("consumer-key", public, USER)
    url = f"{server.url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    later = datetime.now(UTC) + timedelta(minutes=3)

    token, instance = token_login(
        url,
        {"grant_type": grant, "assertion": _jwt(key, server.url, later)},
        "login",
        "consumer-key",
        None,
        None,
        http,
    )
    assert instance == f"127.0.0.1:{server.port}"
    sf = Salesforce(instance_url=server.url, session_id=token, session=http)
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for assertion in (
        _jwt(other, server.url, later),  # not signed by the registered key
        _jwt(key, "https://login.salesforce.com", later),  # another audience
        _jwt(key, server.url, datetime.now(UTC) - timedelta(minutes=1)),  # expired
    ):
        with pytest.raises(SalesforceAuthenticationFailed) as failed:
            token_login(
                url,
                {"grant_type": grant, "assertion": assertion},
                "login",
                "consumer-key",
                None,
                None,
                http,
            )
        assert failed.value.code == "invalid_grant"
    # An app registered with a certificate rather than a bare public key.
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "jwt.example.com", key_type=trustme.KeyType.RSA
    )
    server.add_jwt_client("cert-key", leaf.cert_chain_pems[0].bytes(), USER)
    cert_signed = jwt.encode(
        {"iss": "cert-key", "sub": USER, "aud": server.url, "exp": int(later.timestamp())},
        leaf.private_key_pem.bytes(),
        algorithm="RS256",
    )
    assert token_login(
        url, {"grant_type": grant, "assertion": cert_signed}, "login", "cert-key", None, None, http
    )[0]

    # A user the app is not authorised for: simple-salesforce also warns, as it would live.
    assertion = _jwt(key, server.url, later, sub="someone.else@example.com")
    with pytest.raises(SalesforceAuthenticationFailed) as failed, pytest.warns(UserWarning):
        token_login(
            url,
            {"grant_type": grant, "assertion": assertion},
            "login",
            "consumer-key",
            None,
            None,
            http,
        )
    assert failed.value.code == "invalid_grant"


def test_client_credentials_login(server, http):
    server.add_client_credentials("cc-key", "cc-secret")

    def basic(secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"cc-key:{secret}".encode()).decode()}

    url = f"{server.url}/services/oauth2/token"
    token, instance = token_login(
        url,
        {"grant_type": "client_credentials"},
        "my-domain",
        "cc-key",
        basic("cc-secret"),
        None,
        http,
    )
    sf = Salesforce(instance_url=f"https://{instance}", session_id=token, session=http)
    assert sf.describe()["sobjects"]

    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        token_login(
            url,
            {"grant_type": "client_credentials"},
            "my-domain",
            "cc-key",
            basic("wrong"),
            None,
            http,
        )
    assert failed.value.code == "invalid_client"


# -- describe, limits -------------------------------------------------------------------
def test_describe_global_and_of_an_object(sf, http, server):
    objects = {o["name"]: o for o in sf.describe()["sobjects"]}
    assert {
        "Account",
        "Contact",
        "Opportunity",
        "Lead",
        "OpportunityContactRole",
        "CurrencyType",
        "DatedConversionRate",
    } <= set(objects)
    assert objects["Account"]["keyPrefix"] == "001"
    assert objects["Lead"]["keyPrefix"] == "00Q"
    assert objects["Account"]["queryable"] and not objects["Account"]["custom"]

    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["Name"]["length"] == 255 and fields["Name"]["type"] == "string"
    assert fields["Id"]["type"] == "id" and not fields["Id"]["updateable"]
    assert fields["AnnualRevenue"]["type"] == "currency"
    assert fields["CurrencyIsoCode"]["type"] == "picklist"
    golden = fields["Org360_Golden_Id__c"]
    assert golden["custom"] and golden["externalId"] and golden["length"] == 18

    stages = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}["StageName"]
    assert [v["value"] for v in stages["picklistValues"]][-2:] == ["Closed Won", "Closed Lost"]
    assert all(
        v["active"] and "label" in v and "defaultValue" in v for v in stages["picklistValues"]
    )

    with pytest.raises(SalesforceResourceNotFound):
        sf.Nonexistent__c.describe()

    single = StandinOrg(multi_currency=False)
    assert "CurrencyIsoCode" not in {f["name"] for f in single.describe("Account")["fields"]}
    assert "CurrencyType" not in single.object_names()


def test_limits_decrease_with_each_request_and_run_out(sf, org):
    first = sf.limits()["DailyApiRequests"]
    sf.describe()
    second = sf.limits()["DailyApiRequests"]
    assert second["Remaining"] == first["Remaining"] - 2
    # The header counts the request it answers; /limits reports what was left when asked.
    assert sf.api_usage["api-usage"].used == first["Max"] - second["Remaining"] + 1

    org.api_requests = (15_000, 1)
    assert sf.limits()["DailyApiRequests"] == {"Max": 15_000, "Remaining": 1}
    assert org.api_requests == (15_000, 0)
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.limits()
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


# -- Bulk API 2.0 queries -----------------------------------------------------------------
def test_bulk_query_all_pages_with_locators_and_shows_soft_deleted_rows(sf, org, server):
    ids = _accounts(org, 25)
    org.delete("Account", ids[:3])  # in the recycle bin
    org.purge("Account", ids[3:5])  # gone for good
    soql = "SELECT Id, Name, IsDeleted, AnnualRevenue, NumberOfEmployees FROM Account"
    server.reset_log()

    pages = list(sf.bulk2.Account.query_all(soql, max_records=10, wait=0))
    assert len(pages) == 3
    rows = [row for page in pages for row in _csv(page)]
    assert len(rows) == 23
    assert {r["Id"] for r in rows if r["IsDeleted"] == "true"} == set(ids[:3])
    assert not {r["Id"] for r in rows} & set(ids[3:5])
    locators = [r.query for r in server.requests if r.path.endswith("/results")]
    assert locators[0] == "maxRecords=10" and all("locator=" in q for q in locators[1:])

    live = [
        row for page in sf.bulk2.Account.query(soql, max_records=10, wait=0) for row in _csv(page)
    ]
    assert len(live) == 20 and all(r["IsDeleted"] == "false" for r in live)


def test_bulk_results_csv_format(sf, org, http, server):
    [rid] = org.insert(
        "Opportunity",
        [
            {
                "Name": 'Deal "big", really',
                "StageName": "Closed Won",
                "CloseDate": date(2024, 5, 1),
                "Amount": 1234.5,
                "CreatedDate": T0,
            }
        ],
    )
    job = sf.bulk2.Opportunity._client.create_job(
        "query",
        "SELECT Id, Name, Amount, CloseDate, IsWon, LeadSource, CreatedDate FROM Opportunity",
    )
    result = http.get(
        f"{server.url}/services/data/v59.0/jobs/query/{job['id']}/results",
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert result.headers["Sforce-Locator"] == "null"
    assert result.headers["Sforce-NumberOfRecords"] == "1"
    assert result.headers["Content-Type"].startswith("text/csv")
    assert result.text == (
        '"Id","Name","Amount","CloseDate","IsWon","LeadSource","CreatedDate"\n'
        f'"{rid}","Deal ""big"", really","1234.5","2024-05-01","true","",'
        '"2024-05-01T10:00:00.000Z"\n'
    )


def test_bulk_results_are_fixed_when_the_job_is_created(sf, org):
    ids = _accounts(org, 30)
    client = sf.bulk2.Account._client
    job = client.create_job("query", "select id, NAME from account")  # any casing
    org.update("Account", ids[15], {"Name": "Renamed later"})
    org.purge("Account", ids[20:])
    assert client.get_job(job["id"], True)["state"] == "InProgress"
    info = client.get_job(job["id"], True)
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 30

    first = client.get_query_results(job["id"], "", 10)
    second = client.get_query_results(job["id"], first["locator"], 10)
    again = client.get_query_results(job["id"], first["locator"], 10)
    assert second == again
    assert "Renamed later" not in second["records"]
    assert _csv(first["records"])[0].keys() == {"Id", "Name"}  # describe casing
    third = client.get_query_results(job["id"], second["locator"], 10)
    assert third["locator"] == "" and third["number_of_records"] == 10

    response = client.session.delete(f"{client.bulk2_url}query/{job['id']}", headers=client.headers)
    assert response.status_code == 204
    with pytest.raises(SalesforceResourceNotFound):
        client.get_query_results(job["id"], first["locator"], 10)


def test_where_system_modstamp_in_bulk_and_rest(sf, org, clock):
    clock.now = T0
    ids = _accounts(org, 10)
    clock.now = T0 + timedelta(hours=1)
    org.update("Account", ids[2], {"Phone": "+1 555 0100"})
    org.delete("Account", [ids[7]])
    soql = (
        "SELECT Id, SystemModstamp FROM Account "
        "WHERE SystemModstamp > 2024-05-01T10:30:00Z AND Name != 'nobody'"
    )

    bulk = [r for page in sf.bulk2.Account.query_all(soql, wait=0) for r in _csv(page)]
    assert {r["Id"] for r in bulk} == {ids[2], ids[7]}
    assert {r["SystemModstamp"] for r in bulk} == {"2024-05-01T11:00:00.000Z"}

    for literal in ("2024-05-01T10:30:00.000Z", "2024-05-01T11:30:00+01:00"):
        rest = sf.query(f"SELECT Id FROM Account WHERE SystemModstamp > {literal}")
        assert [r["Id"] for r in rest["records"]] == [ids[2]]
    ordered = sf.query(
        "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= "
        "2024-05-01T10:00:00Z ORDER BY SystemModstamp DESC LIMIT 2"
    )
    assert [r["SystemModstamp"] for r in ordered["records"]] == [
        "2024-05-01T11:00:00.000+0000",
        "2024-05-01T10:00:00.000+0000",
    ]
    assert (
        sf.query(f"SELECT Name FROM Account WHERE Id = '{ids[3][:15]}'")["records"][0]["Name"]
        == "Account 003"
    )

    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Id, Nope__c FROM Account")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.bulk2.Account._client.create_job("query", "SELECT FROM Account WHERE")
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Id FROM Account WHERE SystemModstamp > 2024-05-01")
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_deleted_resource(sf, org, clock):
    now = clock.now
    ids = _accounts(org, 6)
    clock.now = now - timedelta(days=20)
    org.delete("Account", [ids[0]])  # older than the 15 days kept
    clock.now = now - timedelta(days=2)
    org.delete("Account", [ids[1]])
    clock.now = now - timedelta(days=1)
    org.purge("Account", [ids[1], ids[2]])  # ids[1] keeps the date of its soft delete
    clock.now = now

    result = sf.Account.deleted(now - timedelta(days=10), now)
    assert [(r["id"], r["deletedDate"]) for r in result["deletedRecords"]] == [
        (ids[1], (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")),
        (ids[2], (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")),
    ]
    earliest = datetime.strptime(result["earliestDateAvailable"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert now - timedelta(days=15, minutes=1) < earliest <= now - timedelta(days=15)
    assert result["latestDateCovered"] <= now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    assert (
        sf.Account.deleted(now - timedelta(days=10), now - timedelta(days=3))["deletedRecords"]
        == []
    )
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Account.deleted(now - timedelta(days=16), now)
    assert bad.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    org.deleted_retention = timedelta(days=45)
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Account.deleted(now - timedelta(days=31), now)
    assert bad.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


# -- Bulk API 2.0 ingest ----------------------------------------------------------------------
def test_ingest_update_with_partial_failures(sf, org, clock):
    clock.now = T0
    ids = _accounts(org, 5)
    org.delete("Account", [ids[4]])
    clock.now = T0 + timedelta(minutes=5)
    message = "FIELD_CUSTOM_VALIDATION_EXCEPTION:Golden id is read-only:--"
    org.faults.ingest_errors[ids[3]] = message
    unknown = ids[0][:3] + "Zzz" + ids[0][6:15]
    records = [
        {"Id": ids[0], "Org360_Golden_Id__c": "G-0", "Phone": ""},  # "" leaves Phone as is
        {"Id": ids[1], "Org360_Golden_Id__c": "G-1", "Phone": "#N/A"},  # #N/A sets null
        {"Id": ids[2][:15], "Org360_Golden_Id__c": "G-2", "Phone": "+33 1 00 00 00 00"},
        {"Id": ids[3], "Org360_Golden_Id__c": "G-3", "Phone": ""},
        {"Id": ids[4], "Org360_Golden_Id__c": "G-4", "Phone": ""},
        {"Id": unknown, "Org360_Golden_Id__c": "G-5", "Phone": ""},
    ]
    [result] = sf.bulk2.Account.update(records=records, wait=0)
    assert result["numberRecordsProcessed"] == 6 and result["numberRecordsFailed"] == 3

    succeeded = _csv(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert [r["sf__Id"] for r in succeeded] == ids[:3]
    assert {r["sf__Created"] for r in succeeded} == {"false"}
    assert succeeded[0]["Org360_Golden_Id__c"] == "G-0"  # the original columns follow
    failed = {
        r["Id"]: r["sf__Error"] for r in _csv(sf.bulk2.Account.get_failed_records(result["job_id"]))
    }
    assert failed == {
        ids[3]: message,
        ids[4]: "ENTITY_IS_DELETED:entity is deleted:--",
        unknown: "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
    }
    assert _csv(sf.bulk2.Account.get_unprocessed_records(result["job_id"])) == []

    assert org.get("Account", ids[0])["Phone"] == "+44 20 7946 0000"
    assert org.get("Account", ids[1])["Phone"] is None
    assert org.get("Account", ids[2])["Org360_Golden_Id__c"] == "G-2"
    assert org.get("Account", ids[0])["SystemModstamp"] == T0 + timedelta(minutes=5)
    assert org.get("Account", ids[3])["SystemModstamp"] == T0
    assert org.get("Account", ids[3])["Org360_Golden_Id__c"] is None

    [locked] = sf.bulk2.Opportunity.update(
        records=[
            {
                "Id": org.insert(
                    "Opportunity",
                    [{"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-06-30"}],
                )[0],
                "IsWon": "true",
            }
        ],
        wait=0,
    )
    error = _csv(sf.bulk2.Opportunity.get_failed_records(locked["job_id"]))[0]["sf__Error"]
    assert error.startswith("INVALID_FIELD_FOR_INSERT_UPDATE:") and error.endswith(":IsWon --")


def test_ingest_insert_and_upsert_on_an_external_id(sf, org):
    [inserted] = sf.bulk2.Contact.insert(
        records=[{"LastName": "Lovelace", "FirstName": "Ada"}, {"FirstName": "No last name"}],
        wait=0,
    )
    assert inserted["numberRecordsFailed"] == 1
    failure = _csv(sf.bulk2.Contact.get_failed_records(inserted["job_id"]))[0]["sf__Error"]
    assert failure.startswith("REQUIRED_FIELD_MISSING:")
    [ada] = _csv(sf.bulk2.Contact.get_successful_records(inserted["job_id"]))
    assert ada["sf__Created"] == "true" and is_valid_id(ada["sf__Id"])

    [existing] = org.insert("Account", [{"Name": "Acme", "Org360_Golden_Id__c": "G-1"}])
    [upserted] = sf.bulk2.Account.upsert(
        records=[
            {"Org360_Golden_Id__c": "G-1", "Name": "Acme Ltd"},
            {"Org360_Golden_Id__c": "G-2", "Name": "Beta"},
        ],
        external_id_field="Org360_Golden_Id__c",
        wait=0,
    )
    rows = {
        r["Org360_Golden_Id__c"]: r
        for r in _csv(sf.bulk2.Account.get_successful_records(upserted["job_id"]))
    }
    assert rows["G-1"]["sf__Id"] == existing and rows["G-1"]["sf__Created"] == "false"
    assert rows["G-2"]["sf__Created"] == "true"
    assert org.get("Account", existing)["Name"] == "Acme Ltd"


# -- REST query -------------------------------------------------------------------------------
def test_rest_query_pages_with_next_records_url(sf, org):
    ids = _accounts(org, 4500)
    org.delete("Account", ids[:10])
    first = sf.query(
        "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, IsDeleted, CreatedDate FROM Account"
    )
    assert first["totalSize"] == 4490 and not first["done"] and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert first["nextRecordsUrl"].endswith("-2000")
    record = first["records"][1]
    assert record["attributes"]["type"] == "Account"
    assert record["attributes"]["url"].endswith(f"/sobjects/Account/{ids[11]}")
    assert record["IsDeleted"] is False and record["NumberOfEmployees"] == 11
    assert record["AnnualRevenue"] == 11005.5 and first["records"][0]["AnnualRevenue"] is None
    assert record["CreatedDate"].endswith("+0000")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000 and third["done"] and len(third["records"]) == 490
    assert "nextRecordsUrl" not in third

    everything = sf.query_all("SELECT Id FROM Account", include_deleted=True)
    assert everything["totalSize"] == 4500 and len(everything["records"]) == 4500
    assert is_valid_id(ids[0]) and len(ids[0]) == 18 and ids[0].startswith("001")


# -- faults -----------------------------------------------------------------------------------
def test_sessions_expire_now_or_after_n_requests(sf, org, server, http):
    sf.limits()
    org.faults.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.limits()
    assert expired.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]

    fresh = _login(server, http)
    org.faults.expire_sessions_after(2)
    fresh.limits()
    fresh.describe()
    with pytest.raises(SalesforceExpiredSession):
        fresh.limits()
    _login(server, http).limits()  # a new login works


def test_fail_next_requests(sf, org):
    org.faults.fail_next(2, "unavailable", path_contains="/limits")
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as unavailable:
            sf.limits()
        assert unavailable.value.status == 503
        assert unavailable.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
        sf.describe()  # other paths are not affected
    sf.limits()

    org.faults.fail_next(1, "request_limit")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.describe()
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    sf.describe()


def test_query_job_fails_on_demand(sf, org):
    _accounts(org, 3)
    org.faults.fail_query_job("Account", "INVALID_FIELD: something went wrong")
    with pytest.raises(SalesforceOperationError, match="something went wrong"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))
    assert len(list(sf.bulk2.Account.query("SELECT Id FROM Account", wait=0))) == 1


def test_results_page_cut_mid_body_then_retried(sf, org):
    _accounts(org, 30)
    org.faults.cut_results(page=2, times=1)
    client = sf.bulk2.Account._client
    job = client.create_job("query", "SELECT Id, Name, Phone FROM Account")
    client.wait_for_job(job["id"], True, 0)
    first = client.get_query_results(job["id"], "", 10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.get_query_results(job["id"], first["locator"], 10)
    retried = client.get_query_results(job["id"], first["locator"], 10)
    assert retried["number_of_records"] == 10 and len(_csv(retried["records"])) == 10


def test_request_log(sf, server):
    server.reset_log()
    sf.query("SELECT Id FROM Account WHERE Name = 'x'")
    [record] = server.requests
    assert record.method == "GET" and record.path == "/services/data/v59.0/query/"
    assert "q=SELECT" in record.query
    server.reset_log()
    assert server.requests == []


# -- another process ---------------------------------------------------------------------------
def test_cli_subprocess_with_admin_endpoints(monkeypatch):
    with StandinProcess(user=USER, password=PASSWORD, token=TOKEN) as process:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", process.ca_path)
        ids = process.insert(
            "Lead",
            [
                {
                    "LastName": "Hopper",
                    "Company": "Navy",
                    "Status": "Open - Not Contacted",
                    "IsConverted": "false",
                },
                {"LastName": "Lamarr", "Company": "MGM", "Status": "Working - Contacted"},
            ],
        )
        process.admin("POST", "delete/Lead", {"ids": [ids[1]]})
        process.faults(fail_next={"n": 1, "kind": "unavailable"})
        with requests.Session() as http:
            http.verify = process.ca_path
            session_id, instance = SalesforceLogin(
                username=USER,
                password=PASSWORD,
                security_token=TOKEN,
                session=http,
                scratch_url=process.url,
            )
            sf = Salesforce(instance_url=f"https://{instance}", session_id=session_id, session=http)
            with pytest.raises(SalesforceGeneralError):
                sf.query("SELECT Id FROM Lead")
            assert [r["Id"] for r in sf.query("SELECT Id FROM Lead")["records"]] == ids[:1]
            assert sf.query_all("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 2
            denied = http.get(
                f"{process.url}/__standin__/requests", headers={"X-Standin-Token": "wrong"}
            )
            assert denied.status_code == 403
        assert [r["path"] for r in process.requests()][-1] == "/services/data/v59.0/queryAll/"
        started = time.monotonic()
        assert process.stop() == 0
        assert time.monotonic() - started < 5
