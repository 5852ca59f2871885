"""Fixtures for the OData service: a seeded database and a real uvicorn server on 127.0.0.1.

Read-only tests share one seeded database and server per module; tests that change
rows get their own (`fresh_odata_server`).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from core.database import make_engine
from odata_service.app import create_app
from odata_service.settings import ODataSettings
from odata_service.wire import CoalescingHttpProtocol
from service_auth import ApiCredentials
from tests.conftest import _create_database, _drop_database

USER = "salesforce"
PASSWORD = "s3cret-pass"
TOKEN = "token-for-tests"
CREDENTIALS = ApiCredentials(user=USER, password=PASSWORD, tokens=frozenset({TOKEN}))

ACCOUNTS = 240
CONTACTS = 600

SEED_SQL = f"""
INSERT INTO golden.account (golden_id, name, website, phone, billing_city, billing_country,
    billing_country_code, industry, annual_revenue, employees, member_count, orgs, provenance,
    last_modified, created_at, updated_at)
SELECT 'GA' || lpad(i::text, 6, '0'),
       (ARRAY['Acme','Globex','Initech','Umbrella','Stark','Wayne'])[1 + i % 6] || ' '
           || (ARRAY['Corp','Ltd','GmbH','SA'])[1 + i % 4] || ' ' || i,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'https://www.example' || i || '.com' END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE '+44 20 7946 ' || lpad(i::text, 4, '0') END,
       (ARRAY['London','Paris','Berlin','Madrid', NULL])[1 + i % 5],
       (ARRAY['United Kingdom','France','Germany','Spain', NULL])[1 + i % 5],
       (ARRAY['GB','FR','DE','ES', NULL])[1 + i % 5],
       (ARRAY['Manufacturing','Retail','Banking'])[1 + i % 3],
       i * 1000.5,
       CASE WHEN i % 3 = 0 THEN NULL ELSE i * 10 END,
       1 + i % 3, 'org_a,org_b', '{{}}'::jsonb,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour',
       timestamptz '2023-06-01 12:00:00+00', timestamptz '2024-02-01 00:00:00+00'
FROM generate_series(1, {ACCOUNTS}) AS i;

INSERT INTO golden.account (golden_id, name, website, phone, billing_city, member_count, orgs,
    provenance, last_modified)
VALUES ('GA900001', 'O''Brien & Sons', NULL, '555-0101', 'Dublin', 1, 'org_a', '{{}}',
        '2024-05-06 07:08:09.123456+00'),
       ('GA900002', '100% Natural_Foods', 'natural.example', NULL, 'Paris', 1, 'org_b', '{{}}',
        NULL),
       ('GA900003', 'Zürich Versicherung', 'zurich.example', '+41 44 000', 'Zürich', 2,
        'org_a,org_b', '{{}}', '2024-03-01 00:00:00+00');

INSERT INTO golden.contact (golden_id, first_name, last_name, name, email, phone, birthdate,
    account_golden_id, member_count, orgs, provenance, last_modified)
SELECT 'GC' || lpad(i::text, 6, '0'),
       CASE WHEN i % 11 = 0 THEN NULL ELSE (ARRAY['Ann','Bob','Cleo','Dev','Eve'])[1 + i % 5] END,
       (ARRAY['Smith','Jones','Brown','Taylor'])[1 + i % 4] || i,
       concat_ws(' ', CASE WHEN i % 11 = 0 THEN NULL
                      ELSE (ARRAY['Ann','Bob','Cleo','Dev','Eve'])[1 + i % 5] END,
                 (ARRAY['Smith','Jones','Brown','Taylor'])[1 + i % 4] || i),
       'person' || i || '@example.com',
       '+1 555 ' || lpad(i::text, 4, '0'),
       date '1970-01-01' + i * 17,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 'GA' || lpad((1 + i % {ACCOUNTS})::text, 6, '0') END,
       1, 'org_a', '{{}}'::jsonb,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
FROM generate_series(1, {CONTACTS}) AS i;

INSERT INTO golden.xref (object, org, sfid, golden_id, source_schema, match_weight, is_survivor,
    systemmodstamp)
SELECT 'account', org, CASE org WHEN 'org_a' THEN '001A' ELSE '001B' END || lpad(i::text, 14, '0'),
       'GA' || lpad(i::text, 6, '0'), 'salesforce_' || org, i / 10.0, org = 'org_a',
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 day'
FROM generate_series(1, {ACCOUNTS}) AS i, (VALUES ('org_a'), ('org_b')) AS o(org);

INSERT INTO golden.xref (object, org, sfid, golden_id, source_schema, is_survivor)
SELECT 'contact', 'org_a', '003A' || lpad(i::text, 14, '0'), 'GC' || lpad(i::text, 6, '0'),
       'salesforce_org_a', true
FROM generate_series(1, {CONTACTS}) AS i;

INSERT INTO golden.duplicate_review (review_id, object, org_a, sfid_a, golden_id_a, label_a,
    org_b, sfid_b, golden_id_b, label_b, probability, match_weight, field_weights)
SELECT 'R' || lpad(i::text, 4, '0'), 'account', 'org_a', '001A' || lpad(i::text, 14, '0'),
       'GA' || lpad(i::text, 6, '0'), 'Acme Corp ' || i, 'org_b',
       '001B' || lpad(i::text, 14, '0'), 'GA' || lpad((i + 1)::text, 6, '0'), 'ACME Corp ' || i,
       0.5 + i / 100.0, i * 0.3, '{{}}'::jsonb
FROM generate_series(1, 30) AS i;
"""


def seed(url: str) -> None:
    engine = make_engine(url)
    # Through the driver's cursor without parameters, so '%' in the data stays literal.
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cursor:
        cursor.execute(SEED_SQL)
        cursor.execute("ANALYZE")
    engine.dispose()


@dataclass(frozen=True)
class RunningServer:
    root: str  # the service root, ending in /odata/
    database_url: str

    def client(self, **kwargs) -> httpx.Client:
        kwargs.setdefault("auth", (USER, PASSWORD))
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.root, **kwargs)


@contextmanager
def running_server(database_url: str, **overrides) -> Iterator[RunningServer]:
    """Serve `database_url` with uvicorn on a free port of 127.0.0.1, in a thread."""
    settings = replace(ODataSettings(database_url, CREDENTIALS, pool_size=4), **overrides)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, http=CoalescingHttpProtocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OData server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}/odata/", database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextmanager
def seeded_database(pg_admin_url: str, template: str) -> Iterator[str]:
    name = f"org360_odata_{uuid.uuid4().hex[:10]}"
    url = _create_database(pg_admin_url, name, template=template)
    try:
        seed(url)
        yield url
    finally:
        _drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def odata_server(pg_admin_url: str, template_database: str) -> Iterator[RunningServer]:
    with (
        seeded_database(pg_admin_url, template_database) as url,
        running_server(url) as server,
    ):
        yield server


@pytest.fixture
def fresh_odata_server(pg_admin_url: str, template_database: str) -> Iterator[RunningServer]:
    """A server over a database of its own, for tests that change rows."""
    with (
        seeded_database(pg_admin_url, template_database) as url,
        running_server(url, count_ttl_seconds=0) as server,
    ):
        yield server


@pytest.fixture
def client(odata_server: RunningServer) -> Iterator[httpx.Client]:
    with odata_server.client() as http:
        yield http


def execute(database_url: str, sql: str, **params) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    engine.dispose()
