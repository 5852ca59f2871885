"""Protocol conformance over a real server: service document, $metadata, headers, auth,
the error format, and how query options arrive (percent-encoded names, '+' as space)."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service_auth import ApiCredentials
from tests.integration.odata.conftest import PASSWORD, TOKEN, USER, running_server

REPO = Path(__file__).resolve().parents[3]
JSON = "application/json;odata.metadata=minimal"


def assert_odata_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["odata-version"] == "4.0"
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "target"} and error["message"]
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    if code:
        assert error["code"] == code
    return error


def test_service_document_lists_every_entity_set(client):
    response = client.get("")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.headers["odata-version"] == "4.0"
    document = response.json()
    assert document["@odata.context"] == str(client.base_url) + "$metadata"
    assert [e["name"] for e in document["value"]] == [
        "Accounts",
        "Contacts",
        "Opportunities",
        "Leads",
        "OpportunityContactRoles",
        "AccountSummaries",
        "PipelineByMonth",
        "SourceRecords",
        "DuplicateReviews",
        "ArchivedAccounts",
        "ArchivedContacts",
    ]


def test_metadata_passes_the_csdl_checker(odata_server):
    # The checker resolves its schemas next to itself; it is run from the repo root as CI
    # does. It cannot authenticate, so this server publishes $metadata (and only that).
    checker = Path("../shared/odata/validate_metadata.py")
    assert (REPO / checker).exists(), "shared/odata must be checked out beside the repo"
    with running_server(odata_server.database_url, public_metadata=True) as server:
        assert httpx.get(server.root + "Accounts").status_code == 401
        result = subprocess.run(
            [sys.executable, str(checker), server.root + "$metadata"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("VALID")


def test_metadata_types_keys_and_lengths(client):
    from lxml import etree

    response = client.get("$metadata")
    assert response.headers["content-type"].startswith("application/xml")
    ns = {"e": "http://docs.oasis-open.org/odata/ns/edm"}
    doc = etree.fromstring(response.content)

    def prop(entity: str, name: str) -> dict:
        element = doc.find(f".//e:EntityType[@Name='{entity}']/e:Property[@Name='{name}']", ns)
        return dict(element.attrib)

    assert prop("Account", "GoldenId") == {
        "Name": "GoldenId",
        "Type": "Edm.String",
        "Nullable": "false",
        "MaxLength": "18",
    }
    assert prop("Account", "Website")["MaxLength"] == "255"
    assert "Nullable" not in prop("Account", "Website")
    assert prop("Account", "Employees")["Type"] == "Edm.Int32"
    assert prop("Account", "AnnualRevenue")["Type"] == "Edm.Double"
    assert prop("Account", "LastModified")["Type"] == "Edm.DateTimeOffset"
    assert prop("Contact", "Birthdate")["Type"] == "Edm.Date"
    assert prop("SourceRecord", "IsSurvivor")["Type"] == "Edm.Boolean"
    assert prop("SourceRecord", "SourceKey") == {
        "Name": "SourceKey",
        "Type": "Edm.String",
        "Nullable": "false",
        "MaxLength": "76",
    }
    assert prop("ArchivedAccount", "ArchiveKey")["Nullable"] == "false"
    keys = {
        et.get("Name"): [r.get("Name") for r in et.findall("e:Key/e:PropertyRef", ns)]
        for et in doc.findall(".//e:EntityType", ns)
    }
    assert keys == {
        "Account": ["GoldenId"],
        "Contact": ["GoldenId"],
        "Opportunity": ["GoldenId"],
        "Lead": ["GoldenId"],
        "OpportunityContactRole": ["GoldenId"],
        "AccountSummary": ["GoldenId"],
        "PipelineMonth": ["RowKey"],
        "SourceRecord": ["SourceKey"],
        "DuplicateReview": ["ReviewId"],
        "ArchivedAccount": ["ArchiveKey"],
        "ArchivedContact": ["ArchiveKey"],
    }
    # Only declared columns: private ones never appear.
    assert doc.find(".//e:Property[@Name='NationalId']", ns) is None
    assert doc.find(".//e:Property[@Name='Provenance']", ns) is None
    navigation = doc.find(".//e:EntityType[@Name='Account']/e:NavigationProperty", ns)
    assert navigation.get("Type") == "Collection(org360.Contact)"


def test_authentication_is_required(odata_server):
    with httpx.Client(base_url=odata_server.root) as anonymous:
        error = assert_odata_error(anonymous.get("Accounts"), 401, "Unauthorized")
        assert "credentials" in error["message"]
        assert anonymous.get("Accounts").headers["www-authenticate"].startswith("Basic")
        assert_odata_error(anonymous.get("$metadata", auth=(USER, "wrong")), 401)
        assert_odata_error(
            anonymous.get("", headers={"Authorization": "Bearer not-the-token"}), 401
        )
        bearer = anonymous.get("Accounts?$top=1", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200


def test_anonymous_only_when_configured(odata_server):
    with running_server(
        odata_server.database_url, credentials=ApiCredentials(allow_anonymous=True)
    ) as open_server:
        assert httpx.get(open_server.root + "Accounts?$top=1").status_code == 200
    with (
        pytest.raises(ValueError, match="no credentials configured"),
        running_server(odata_server.database_url, credentials=ApiCredentials()),
    ):
        pass


def test_odata_max_version(client):
    assert_odata_error(client.get("Accounts", headers={"OData-MaxVersion": "3.0"}), 400)
    assert_odata_error(client.get("Accounts", headers={"OData-MaxVersion": "four"}), 400)
    for accepted in ("4.0", "4.01"):
        response = client.get("Accounts?$top=1", headers={"OData-MaxVersion": accepted})
        assert response.status_code == 200
        assert response.headers["odata-version"] == "4.0"


def test_encoded_option_names_and_plus_as_space(client):
    plain = client.get("Accounts?$filter=Name eq 'Globex Ltd 1'&$select=GoldenId").json()
    raw = client.get("Accounts?%24filter=Name+eq+%27Globex+Ltd+1%27&%24select=GoldenId").json()
    assert plain["value"] == raw["value"] == [{"GoldenId": "GA000001"}]


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("Accounts?$expand=Contacts", 501, "NotImplemented"),
        ("Accounts?$apply=groupby((Name))", 501, "NotImplemented"),
        ("Accounts?$bogus=1", 400, "BadRequest"),
        ("Accounts?$top=1&$top=2", 400, "BadRequest"),
        ("Accounts?$top=-1", 400, "BadRequest"),
        ("Accounts?$top=abc", 400, "BadRequest"),
        ("Accounts?$count=maybe", 400, "BadRequest"),
        ("Accounts?$format=xml", 406, "NotAcceptable"),
        ("Accounts?$select=Name,Secret", 400, "UnknownProperty"),
        ("Contacts?$select=NationalId", 400, "UnknownProperty"),
        ("Accounts?$filter=NationalId eq 'x'", 400, "UnknownProperty"),
        ("Accounts?$filter=Name gt 5", 400, "TypeMismatch"),
        ("Accounts?$filter=Employees eq 'ten'", 400, "TypeMismatch"),
        ("Accounts?$filter=Name eq 'x' ; DELETE FROM golden.account", 400, "SyntaxError"),
        ("Accounts?$filter=" + "(" * 200 + "Name eq 'x'" + ")" * 200, 400, "LimitExceeded"),
        ("Accounts?$filter=Name eq '" + "x" * 40000 + "'", 400, "LimitExceeded"),
        # Errors that only the database sees: division by zero, a negative length.
        ("Accounts?$filter=Employees div (Employees sub Employees) eq 1", 400, "BadRequest"),
        ("Accounts?$filter=substring(Name,1,-1) eq 'x'", 400, "BadRequest"),
        ("Accounts?$orderby=tolower(Name)", 400, "SyntaxError"),
        ("Accounts?$skiptoken=garbage", 400, "InvalidSkipToken"),
        ("Accounts?$search=", 400, "SyntaxError"),
        ("Accounts?$filter=Name eq '%00'", 400, "BadRequest"),
        ("Accounts(42)", 400, "TypeMismatch"),
        ("Accounts('nope')", 404, "NotFound"),
        ("Nope", 404, "NotFound"),
        ("Accounts('GA000001')/Nope", 404, "NotFound"),
        ("Accounts('GA000001')/Name", 501, "NotImplemented"),
        ("$batch", 404, "NotFound"),
        ("../../etc/passwd", 404, "NotFound"),
    ],
)
def test_errors_use_the_odata_format(client, url, status, code):
    assert_odata_error(client.get(url), status, code)


def test_writes_are_refused(client):
    assert_odata_error(client.post("Accounts", json={"Name": "x"}), 405, "MethodNotAllowed")
    assert_odata_error(client.delete("Accounts('GA000001')"), 405)
    assert_odata_error(client.get("/nothing-here"), 404)


def test_serve_refuses_to_start_without_credentials(odata_server):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": odata_server.database_url,
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-m", "odata_service", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no credentials configured" in lines[0]


def test_serve_with_several_worker_processes(odata_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "ORG360_API_USER": USER,
        "ORG360_API_PASSWORD": PASSWORD,
        "ORG360_ODATA_ACCESS_LOG": "0",
    }
    command = [sys.executable, "-m", "odata_service", "--port", str(port), "--workers", "2"]
    command += ["--database-url", odata_server.database_url]
    server = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/odata/Accounts?$select=GoldenId&$top=3",
                    auth=(USER, PASSWORD),
                    timeout=10,
                )
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "did not start"
                time.sleep(0.2)
        assert response.status_code == 200, response.text
        assert len(response.json()["value"]) == 3
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0 and errors.count("Started server process") == 2, errors


def test_responses_leave_whole_on_kept_alive_and_closed_connections(odata_server):
    # The protocol joins each response's head and body into one write (wire.py).
    host, port = odata_server.root.split("//")[1].split("/")[0].split(":")
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = (
        f"GET /odata/Accounts?$select=GoldenId&$top=1 HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Basic {auth}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request * 2)  # pipelined
        received = b""
        while received.count(b'"value"') < 2:
            chunk = conn.recv(65536)
            assert chunk, received
            received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 2
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        assert received.startswith(b"HTTP/1.1 400")
