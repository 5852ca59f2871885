"""An independent OData v4 client (odatapy) reads $metadata, filters, selects and follows
next links against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from odatapy.client import BasicAuth, EdmEnabledODataClient, HttpxTransport

from tests.integration.odata.conftest import ACCOUNTS, PASSWORD, USER


@pytest.fixture
def client(odata_server) -> Iterator[EdmEnabledODataClient]:
    transport = HttpxTransport(auth=BasicAuth(USER, PASSWORD), timeout=30)
    yield EdmEnabledODataClient(odata_server.root, transport, odata_version="4.0")
    transport.close()


def test_client_reads_metadata(client):
    edm = client.get_edm()
    assert edm is not None
    account = client.entity_set_type("Accounts")
    assert account is not None
    document = client.get_service_document()
    assert {e.name for e in document.entries} >= {"Accounts", "Contacts", "SourceRecords"}


def test_client_filters_and_types_values(client):
    uri = (
        client.entity_set_uri("Accounts")
        .filter("startswith(Name,'Globex') eq true and Employees gt 1000")
        .select("GoldenId", "Name", "Employees", "LastModified")
        .orderby("Employees desc")
        .top(3)
        .count()
    )
    page = client.get_entity_set(uri)
    rows = [entity.as_dict() for entity in page]
    assert len(rows) == 3 and page.count is not None and page.count > 3
    assert all(r["Name"].startswith("Globex") and r["Employees"] > 1000 for r in rows)
    assert [r["Employees"] for r in rows] == sorted((r["Employees"] for r in rows), reverse=True)
    assert isinstance(rows[0]["LastModified"], datetime)


def test_client_follows_next_links(client):
    uri = client.entity_set_uri("Accounts").select("GoldenId")
    keys = [e.as_dict()["GoldenId"] for e in client.iter_entities(uri, max_page_size=40)]
    assert len(keys) == ACCOUNTS + 3 == len(set(keys))
    pages = list(client.iter_pages(client.entity_set_uri("Contacts").top(90), max_page_size=40))
    assert [len(p) for p in pages] == [40, 40, 10]


def test_client_reads_an_entity_by_key(client):
    entity = client.get_entity(client.entity_uri("Accounts", "GA900001"))
    assert entity.as_dict()["Name"] == "O'Brien & Sons"
