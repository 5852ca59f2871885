"""The web app's search and golden record pages at a million golden accounts and three
million golden contacts: latency seen by a signed-in browser, p50/p95/p99.

Starts from the database `bench/scale.py` leaves (`org360_bench_<records>`, real
golden records with their members), grows its golden tables to the target with
records recombined from its own names, e-mails and phones (through the same tables
and word index a publication fills), then serves it with `org360 serve` and times,
one request after another and then four at a time: searches by name words (common
and rare), e-mail, phone, web domain and registration number, and record pages of
golden accounts (members, contacts, pipeline) and contacts.

    bench/.venv/bin/python bench/app_load.py --records 1000000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.database import resolve_database_url
from warehouse.sql import indexes_built_after
from warehouse.tables import migrate

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-long"

# Synthetic golden records: names, e-mails and phones recombined from the real ones,
# ids that cannot collide with issued ones (Z is no hex digit).
_GROW_ACCOUNTS = """
WITH words AS (
    SELECT array_agg(DISTINCT split_part(name, ' ', 1)) AS firsts,
           array_agg(DISTINCT split_part(name, ' ', 2))
               FILTER (WHERE split_part(name, ' ', 2) <> '') AS seconds,
           array_agg(DISTINCT billing_city) FILTER (WHERE billing_city IS NOT NULL) AS cities
    FROM golden.account WHERE golden_id NOT LIKE 'GAZ%'
)
INSERT INTO golden.account (golden_id, name, website, domain, phone, billing_city,
                            registration_number, member_count, orgs, provenance)
SELECT 'GAZ' || lpad(upper(to_hex(i)), 15, '0'),
       firsts[CAST(1 + (i * 7919) % cardinality(firsts) AS int)] || ' '
           || seconds[CAST(1 + (i * 104729) % cardinality(seconds) AS int)] || ' '
           || (ARRAY['Ltd', 'Inc.', 'GmbH', 'S.A.', 'Group', 'Holdings'])[CAST(1 + i % 6 AS int)],
       'www.z' || to_hex(i) || '.example', 'z' || to_hex(i) || '.example',
       '+1' || lpad(((i * 2654435761) % 10000000000)::text, 10, '0'),
       cities[CAST(1 + i % cardinality(cities) AS int)],
       'Z' || i, 1, 'amer', '{}'
FROM words, generate_series(CAST(1 AS bigint), :count) AS i
"""
_GROW_CONTACTS = """
WITH firsts AS (
    SELECT row_number() OVER (ORDER BY v) - 1 AS n, v
    FROM (SELECT DISTINCT first_name AS v FROM golden.contact
          WHERE first_name IS NOT NULL AND golden_id NOT LIKE 'GCZ%') d
), lasts AS (
    SELECT row_number() OVER (ORDER BY v) - 1 AS n, v
    FROM (SELECT DISTINCT last_name AS v FROM golden.contact
          WHERE last_name IS NOT NULL AND golden_id NOT LIKE 'GCZ%') d
), sizes AS (SELECT (SELECT count(*) FROM firsts) AS nf, (SELECT count(*) FROM lasts) AS nl)
INSERT INTO golden.contact (golden_id, first_name, last_name, name, email, phone,
                            account_golden_id, member_count, orgs, provenance)
SELECT 'GCZ' || lpad(upper(to_hex(g.i)), 15, '0'), f.v, l.v, f.v || ' ' || l.v,
       lower(f.v || '.' || l.v || '.' || to_hex(g.i)) || '@z' || to_hex(g.i % :accounts + 1)
           || '.example',
       '+1' || lpad(((g.i * 40503) % 10000000000)::text, 10, '0'),
       'GAZ' || lpad(upper(to_hex(g.i % :accounts + 1)), 15, '0'), 1, 'amer', '{}'
FROM sizes,
     LATERAL (SELECT i, (i * 7919) % sizes.nf AS fn, (i * 104729) % sizes.nl AS ln
              FROM generate_series(CAST(1 AS bigint), :count) AS i) AS g
JOIN firsts f ON f.n = g.fn
JOIN lasts l ON l.n = g.ln
"""


_INDEX_WORDS = """
WITH added AS MATERIALIZED (
    SELECT DISTINCT '{table}.name' AS source, w.word, r.golden_id
    FROM golden.{table} r
    CROSS JOIN LATERAL regexp_split_to_table(lower(r.name), '\\s+') AS w(word)
    WHERE r.golden_id LIKE 'G_Z%' AND length(w.word) >= 3
), words AS (
    INSERT INTO golden.search_word (source, word)
    SELECT DISTINCT source, word FROM added ORDER BY 1, 2 ON CONFLICT DO NOTHING
)
INSERT INTO golden.search_posting (source, word, golden_id)
SELECT source, word, golden_id FROM added ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING
"""


def grow(url: str, accounts: int, contacts: int) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        have_a, have_c, synthetic = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM golden.account), "
                "(SELECT count(*) FROM golden.contact), "
                "(SELECT count(*) FROM golden.account WHERE golden_id LIKE 'GAZ%')"
            )
        ).one()
    add_a, add_c = max(0, accounts - have_a), max(0, contacts - have_c)
    started = time.perf_counter()
    # As a first publication fills its tables: the trigram indexes are built once
    # afterwards, several times faster than inserting every row into them.
    for table, sql, params in (
        ("account", _GROW_ACCOUNTS, {"count": add_a}),
        ("contact", _GROW_CONTACTS, {"count": add_c, "accounts": max(synthetic + add_a, 1)}),
    ):
        if not params["count"]:
            continue
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            # The word index of the new names in one sorted pass rather than by the
            # insert trigger, whose unsorted millions of postings thrash the index.
            conn.exec_driver_sql(f"ALTER TABLE golden.{table} DISABLE TRIGGER search_words_insert")
            with indexes_built_after(conn, "golden", table):
                conn.execute(text(sql), params)
                # No index is built under pending (deferred) foreign-key checks.
                conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
            conn.execute(text(_INDEX_WORDS.format(table=table)))
            conn.exec_driver_sql(f"ALTER TABLE golden.{table} ENABLE TRIGGER search_words_insert")
        print(f"  golden.{table}: {params['count']} added ({time.perf_counter() - started:.0f} s)")
    with engine.begin() as conn:
        for table in ("account", "contact", "search_word", "search_posting"):
            conn.exec_driver_sql(f"ANALYZE golden.{table}")
    with engine.connect() as conn:
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM golden.account), "
                "(SELECT count(*) FROM golden.contact)"
            )
        ).one()
    print(
        f"golden tables grown in {time.perf_counter() - started:.0f} s: now {counts[0]} "
        f"golden accounts and {counts[1]} golden contacts"
    )
    engine.dispose()


def workload(url: str, size: int, seed: int) -> list[tuple[str, str]]:
    """(kind, path) requests, drawn from the published records."""
    rng = random.Random(seed)
    engine = create_engine(url)
    with engine.connect() as conn:

        def sample(sql: str) -> list:
            return list(conn.execute(text(sql + " LIMIT 2000")).scalars())

        names = sample("SELECT name FROM golden.account TABLESAMPLE SYSTEM (1)")
        people = sample("SELECT name FROM golden.contact TABLESAMPLE SYSTEM (1)")
        emails = sample(
            "SELECT email FROM golden.contact TABLESAMPLE SYSTEM (1) WHERE email IS NOT NULL"
        )
        phones = sample(
            "SELECT phone FROM golden.account TABLESAMPLE SYSTEM (1) WHERE phone IS NOT NULL"
        )
        domains = sample(
            "SELECT domain FROM golden.account TABLESAMPLE SYSTEM (1) WHERE domain IS NOT NULL"
        )
        numbers = sample(
            "SELECT registration_number FROM golden.account TABLESAMPLE SYSTEM (1) "
            "WHERE registration_number IS NOT NULL"
        )
        accounts = sample(
            "SELECT golden_id FROM golden.account TABLESAMPLE SYSTEM (1) WHERE member_count > 1"
        )
        contacts = sample(
            "SELECT golden_id FROM golden.contact TABLESAMPLE SYSTEM (1) WHERE member_count > 1"
        )
    engine.dispose()

    def words(name: str) -> str:
        found = [w for w in re.split(r"\s+", name) if len(w) >= 3]
        return " ".join(rng.sample(found, min(len(found), rng.choice([1, 2])))) if found else name

    makers = [
        ("search: a company's words", lambda: f"/app/?q={words(rng.choice(names))}"),
        ("search: a person's name", lambda: f"/app/?q={rng.choice(people)}"),
        ("search: an e-mail", lambda: f"/app/?q={rng.choice(emails)}"),
        ("search: a phone number", lambda: f"/app/?q={rng.choice(phones)[-9:]}"),
        ("search: a web domain", lambda: f"/app/?q={rng.choice(domains)}"),
        ("search: a registration number", lambda: f"/app/?q={rng.choice(numbers)}"),
        ("record: a golden account", lambda: f"/app/records/account/{rng.choice(accounts)}"),
        ("record: a golden contact", lambda: f"/app/records/contact/{rng.choice(contacts)}"),
    ]
    return [(kind, make()) for kind, make in (rng.choice(makers) for _ in range(size))]


def timed(client: httpx.Client, path: str) -> float:
    began = time.perf_counter()
    answer = client.get(path)
    elapsed = (time.perf_counter() - began) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{path}: HTTP {answer.status_code}")
    return elapsed


def report(label: str, results: list[tuple[str, float]]) -> None:
    print(f"\n{label}")
    by_kind: dict[str, list[float]] = {}
    for kind, ms in results:
        by_kind.setdefault(kind, []).append(ms)
    by_kind["all"] = [ms for _, ms in results]
    for kind, values in by_kind.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(
            f"  {kind:<32} {len(values):>5} requests  p50 {statistics.median(values):7.1f} ms  "
            f"p95 {p95:7.1f} ms  p99 {p99:7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="scale.py's size")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=3_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    admin = resolve_database_url()
    url = (
        make_url(admin)
        .set(database=f"org360_bench_{args.records}")
        .render_as_string(hide_password=False)
    )
    migrate(create_engine(url))
    grow(url, args.accounts, args.contacts)
    work = Path(tempfile.mkdtemp(prefix="org360-app-bench-"))
    config = work / "org360.yaml"
    config.write_text(
        yaml.safe_dump({"database_url": url, "orgs": [{"key": "amer", "schema": "sf_amer"}]})
    )
    env = {
        **os.environ,
        "ORG360_API_USER": "bench",
        "ORG360_API_PASSWORD": PASSWORD,
        "ORG360_DAGSTER_UI": "off",
        "ORG360_LOG_LEVEL": "WARNING",
        "DAGSTER_HOME": str(work / "dagster"),
    }
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run(
        [*cli, "users", "add", "bench@example.com", "--role", "viewer", "--config", str(config)],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    port = 8950
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--config", str(config)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("org360 serve did not start") from None
                time.sleep(0.5)
        requests = workload(url, args.requests, args.seed)

        def signed_in() -> httpx.Client:
            client = httpx.Client(base_url=base, timeout=30)
            form = client.get("/app/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            client.post(
                "/app/login",
                data={"csrf": csrf, "email": "bench@example.com", "password": PASSWORD},
            )
            return client

        client = signed_in()
        for _, path in requests[:50]:  # warm the caches
            timed(client, path)
        report("one request at a time", [(kind, timed(client, path)) for kind, path in requests])
        client.close()
        clients = [signed_in() for _ in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [
                (kind, pool.submit(timed, clients[i % 4], path))
                for i, (kind, path) in enumerate(requests)
            ]
            report("four at a time", [(kind, f.result()) for kind, f in futures])
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
