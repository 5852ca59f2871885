"""`.venv/bin/python bench/standin_scale.py [ROWS]`: the Salesforce stand-in at scale.

Inserts ROWS (default 1,000,000) Accounts with realistic values, then reports the insert
rate, the resident memory the org added, the rate of a WHERE SystemModstamp filter, the
rate of rendering Bulk query result CSV, and the end-to-end rate of a Bulk API 2.0 query
read through simple-salesforce over HTTPS. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import requests

from salesforce_standin.bulk import render_csv
from salesforce_standin.org import StandinOrg
from salesforce_standin.runner import StandinServer
from salesforce_standin.soql import parse

_CITIES = ["London", "Paris", "Berlin", "Madrid", "Rome", "Vienna", "Dublin", "Lisbon"]
_COUNTRIES = ["United Kingdom", "France", "Germany", "Spain", "Italy", "Austria", "Ireland"]
_INDUSTRIES = ["Banking", "Retail", "Technology", "Energy", "Healthcare", "Media"]
_COLUMNS = (
    "Id, Name, Phone, Website, BillingStreet, BillingCity, BillingPostalCode, "
    "BillingCountry, Industry, AnnualRevenue, NumberOfEmployees, IsDeleted, "
    "SystemModstamp"
)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _accounts(start: int, stop: int) -> Iterator[dict[str, Any]]:
    for i in range(start, stop):
        yield {
            "Name": f"Company {i} Holdings Ltd",
            "Phone": f"+44 20 7946 {i % 10000:04d}",
            "Website": f"https://www.company{i}.example.com",
            "BillingStreet": f"{i % 300 + 1} High Street",
            "BillingCity": _CITIES[i % len(_CITIES)],
            "BillingPostalCode": f"EC{i % 9 + 1}A {i % 10}BB",
            "BillingCountry": _COUNTRIES[i % len(_COUNTRIES)],
            "Industry": _INDUSTRIES[i % len(_INDUSTRIES)],
            "AnnualRevenue": float(i * 1000 % 50_000_000),
            "NumberOfEmployees": i % 5000,
        }


def main(rows: int = 1_000_000) -> None:
    gc.collect()
    before = _rss_mb()
    org = StandinOrg()
    insert_s = 0.0
    for start in range(0, rows, 100_000):
        # Make the input first, so that only the insert is timed.
        chunk = list(_accounts(start, min(rows, start + 100_000)))
        started = time.perf_counter()
        org.insert("Account", chunk)
        insert_s += time.perf_counter() - started
        del chunk
    gc.collect()
    after = _rss_mb()
    print(f"insert: {rows:,} rows in {insert_s:.2f} s = {rows / insert_s:,.0f} rows/s")
    print(
        f"memory: RSS +{after - before:,.0f} MB for the org with its values "
        f"({(after - before) * 1024 * 1024 / rows:,.0f} bytes/row)"
    )
    table = org.table("Account")
    tuples = sum(sys.getsizeof(row) for row in table.rows.values())
    seen: set[int] = set()
    texts = 0
    for row in table.rows.values():
        for value in row:
            if id(value) not in seen:
                seen.add(id(value))
                texts += sys.getsizeof(value)
    del seen
    index = sys.getsizeof(table.rows)
    print(
        f"        objects: row tuples {tuples / rows:,.0f} B/row, distinct value strings "
        f"(Id included) {texts / rows:,.0f} B/row, the Id index {index / rows:,.0f} B/row"
    )

    table, snapshot = org.snapshot("Account")
    middle = snapshot[len(snapshot) // 2][table.i_modstamp]
    query = parse(f"SELECT {_COLUMNS} FROM Account WHERE SystemModstamp >= {middle}", org)
    started = time.perf_counter()
    selected = query.run(snapshot, include_deleted=False)
    filter_s = time.perf_counter() - started
    print(
        f"filter: WHERE SystemModstamp over {rows:,} rows in {filter_s:.2f} s "
        f"({len(selected):,} selected)"
    )

    query = parse(f"SELECT {_COLUMNS} FROM Account", org)
    selected = query.run(snapshot, include_deleted=True)
    started = time.perf_counter()
    size = 0
    for offset in range(0, len(selected), 50_000):
        size += len(render_csv(query.header, selected[offset : offset + 50_000], query.indices))
    render_s = time.perf_counter() - started
    print(
        f"render: {len(selected):,} rows x {len(query.indices)} columns in {render_s:.2f} s "
        f"= {len(selected) / render_s:,.0f} rows/s ({size / 1e6:,.0f} MB of CSV)"
    )

    from simple_salesforce import Salesforce

    with StandinServer(org) as server:
        server.add_user("bench@example.com", "pw")
        os.environ["REQUESTS_CA_BUNDLE"] = server.ca_path
        session = requests.Session()
        session.verify = server.ca_path
        try:
            token = server.new_session("bench@example.com")
            sf = Salesforce(instance_url=server.url, session_id=token, session=session)
            started = time.perf_counter()
            fetched = 0
            for page in sf.bulk2.Account.query(
                f"SELECT {_COLUMNS} FROM Account", max_records=100_000, wait=0
            ):
                fetched += page.count("\n") - 1
            http_s = time.perf_counter() - started
        finally:
            session.close()
    print(
        f"http:   Bulk 2.0 query of {fetched:,} rows through simple-salesforce in "
        f"{http_s:.2f} s = {fetched / http_s:,.0f} rows/s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
