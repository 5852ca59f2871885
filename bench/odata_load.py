"""Load benchmark of the OData service on real volumes (not a test; run it by hand).

    .venv/bin/python bench/odata_load.py [--duration 300] [--clients 20] [--reuse]
        [--workers N] [--only list_view,search,walk,mixed]

It creates its own database `org360_odata_bench` on org360's embedded Postgres (or on
the server of $DATABASE_URL), seeds 1,000,000 golden accounts and 3,000,000 golden
contacts with generate_series, starts `python -m odata_service` as a subprocess and
drives it over HTTP/1.1 keep-alive connections from one asyncio process:

1. list view: the Salesforce list-view request ($select of 5, $count=true, $top=26,
   ordered by Name), N concurrent clients, closed loop;
2. search: contains(Name,'…') eq true or contains(Phone,'…') eq true, $top=25;
3. walk: all accounts by @odata.nextLink at 2,000 rows a page (rows/s, first vs last pages);
4. mixed: list views, searches, record pages, related lists and a walker together for
   --duration seconds, sampling the server's resident memory.

Figures are printed and written to bench/out/odata_load.json. The load generator
shares the machine's cores with the server and Postgres; the figures include that.
With each scenario go the load average before it started (other work on the machine
skews every figure) and the cores kept busy during it by the server processes, the load
generator, the Postgres backends of the benchmark's database, and everything else.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import warehouse_sql  # noqa: E402
from core.database import make_engine, resolve_database_url  # noqa: E402

DATABASE = "org360_odata_bench"
USER, PASSWORD = "bench", "bench-password"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
LIST_VIEW = (
    "/odata/Accounts?$select=GoldenId,Name,Phone,BillingCity,BillingCountry"
    "&$count=true&$top=26&$orderby=Name%20asc"
)
# Syllables make a vocabulary of company-name words; each word is in ~0.1-0.5% of names.
SYLLABLES = [
    "ac",
    "me",
    "glo",
    "bex",
    "ini",
    "tech",
    "um",
    "bre",
    "lla",
    "sta",
    "rk",
    "way",
    "ne",
    "cy",
    "ber",
    "dyne",
    "so",
    "ylent",
    "tyr",
    "ell",
]
WORDS = sorted({a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES[:6]})[:600]

SEED = """
INSERT INTO golden.account (golden_id, name, website, phone, billing_city, billing_country,
    billing_country_code, industry, annual_revenue, employees, member_count, orgs, provenance,
    last_modified)
SELECT 'A' || lpad(i::text, 17, '0'),
       initcap(w[1 + (i * 7) % n]) || ' ' || initcap(w[1 + (i * 13) % n]) || ' '
           || (ARRAY['Ltd','Inc','GmbH','SA','LLC','Corp'])[1 + i % 6],
       CASE WHEN i % 4 = 0 THEN NULL
            ELSE 'https://www.' || w[1 + (i * 7) % n] || i || '.example' END,
       '+44 20 ' || lpad(((i::bigint * 7919) % 10000000)::text, 7, '0'),
       (ARRAY['London','Paris','Berlin','Madrid','Rome','Oslo','Lisbon','Vienna'])[1 + i % 8],
       (ARRAY['United Kingdom','France','Germany','Spain','Italy','Norway','Portugal',
              'Austria'])[1 + i % 8],
       (ARRAY['GB','FR','DE','ES','IT','NO','PT','AT'])[1 + i % 8],
       (ARRAY['Manufacturing','Retail','Banking','Energy'])[1 + i % 4],
       (i % 100000) * 10.5, i % 5000, 1 + i % 3, 'org_a,org_b', '{}'::jsonb,
       timestamptz '2020-01-01 00:00:00+00' + (i % 100000) * interval '17 minutes'
FROM generate_series(1, :accounts) AS i,
     (SELECT CAST(:words AS text[]) AS w, cardinality(CAST(:words AS text[])) AS n) AS v;

INSERT INTO golden.contact (golden_id, first_name, last_name, name, email, phone, title,
    mailing_city, account_golden_id, member_count, orgs, provenance, last_modified)
SELECT 'C' || lpad(i::text, 17, '0'), f, l, f || ' ' || l,
       lower(f) || '.' || lower(l) || i || '@example.com',
       '+1 555 ' || lpad(((i::bigint * 104729) % 10000000)::text, 7, '0'),
       (ARRAY['CEO','CFO','Buyer','Engineer'])[1 + i % 4],
       (ARRAY['London','Paris','Berlin','Madrid'])[1 + i % 4],
       'A' || lpad((1 + i % :accounts)::text, 17, '0'), 1, 'org_a', '{}'::jsonb,
       timestamptz '2020-01-01 00:00:00+00' + (i % 100000) * interval '11 minutes'
FROM (SELECT i,
             (ARRAY['Ann','Bob','Cleo','Dev','Eve','Finn','Gia','Hal'])[1 + i % 8] AS f,
             initcap(w[1 + (i * 11) % n]) AS l
      FROM generate_series(1, :contacts) AS i,
           (SELECT CAST(:words AS text[]) AS w, cardinality(CAST(:words AS text[])) AS n) AS v
     ) AS s;
"""


# -- database ------------------------------------------------------------------------------
def prepare_database(reuse: bool, accounts: int, contacts: int) -> str:
    admin_url = resolve_database_url()
    url = make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE}
        ).scalar()
        if exists and reuse:
            admin.dispose()
            engine = make_engine(url)
            started = time.monotonic()
            applied = warehouse_sql.migrate(engine)  # newer migrations, e.g. indexes
            if applied:
                vacuum(engine)
            engine.dispose()
            print(
                f"reusing database {DATABASE}; applied {applied or 'nothing'}"
                f" in {time.monotonic() - started:.0f} s"
            )
            return url
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')
    admin.dispose()
    engine = make_engine(url)
    warehouse_sql.migrate(engine)
    started = time.monotonic()
    with engine.begin() as conn:
        # Index builds after the load would be faster, but the migrations own the indexes.
        conn.execute(
            text(SEED),
            {"accounts": accounts, "contacts": contacts, "words": WORDS},
        )
    vacuum(engine)
    engine.dispose()
    seconds = time.monotonic() - started
    print(f"seeded {accounts:,} accounts and {contacts:,} contacts in {seconds:.0f} s")
    return url


def vacuum(engine) -> None:
    # Index-only scans of the word postings need the visibility map set.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("account", "contact", "search_word", "search_posting"):
            conn.exec_driver_sql(f"VACUUM ANALYZE golden.{table}")


# -- server --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ORG360_API_USER": USER,
        "ORG360_API_PASSWORD": PASSWORD,
        "ORG360_ODATA_ACCESS_LOG": "0",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "odata_service",
            "--port",
            str(port),
            "--database-url",
            url,
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("the OData server exited during startup") from None
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the OData server did not start within 60 s")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(parents.get(current, []))
    return tree


def rss_mib(pid: int) -> float:
    """Resident memory of the server: the process and its workers together."""
    total = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in lines if line.startswith("VmRSS:"))
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_backends() -> list[int]:
    """Postgres backends serving the benchmark's database (their title names it)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and DATABASE.encode() in title:
            found.append(int(cmdline.parent.name))
    return found


def machine_busy_seconds() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Load average before a scenario; CPU seconds of server, generator and machine in it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> tuple:
        backends = postgres_backends()
        return (
            os.getloadavg(),
            time.monotonic(),
            cpu_seconds(process_tree(self.server_pid)),
            cpu_seconds([os.getpid()]),
            backends,
            cpu_seconds(backends),
            machine_busy_seconds(),
        )

    def stop(self, started: tuple) -> dict:
        load, t0, server0, generator0, backends, postgres0, machine0 = started
        elapsed = time.monotonic() - t0
        server = cpu_seconds(process_tree(self.server_pid)) - server0
        generator = cpu_seconds([os.getpid()]) - generator0
        # Backends that were there at the start (the server's pool keeps its connections).
        postgres = cpu_seconds(backends) - postgres0
        machine = machine_busy_seconds() - machine0
        return {
            "load_average_before": [round(v, 2) for v in load],
            "cores_busy": {
                "server": round(server / elapsed, 2),
                "load_generator": round(generator / elapsed, 2),
                "postgres_backends": round(postgres / elapsed, 2),
                # Postgres' parallel and background workers, and other work on the machine.
                "other": round((machine - server - generator - postgres) / elapsed, 2),
            },
        }


# -- a small keep-alive HTTP/1.1 client ---------------------------------------------------
class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str, headers: str = "") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        request = (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTH}\r\n"
            f"Accept: application/json\r\nOData-MaxVersion: 4.0\r\n{headers}\r\n"
        )
        self.writer.write(request.encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.slowest: dict[str, tuple[float, str]] = {}

    def add(self, kind: str, seconds: float, status: int, target: str = "") -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        if status >= 400:
            self.errors[kind] = self.errors.get(kind, 0) + 1
        if seconds > self.slowest.get(kind, (0.0, ""))[0]:
            self.slowest[kind] = (seconds, target)

    def summary(self, elapsed: float) -> dict:
        out = {}
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[kind] = {
                "requests": len(values),
                "per_second": round(len(values) / elapsed, 1),
                "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
                "max_ms": round(ordered[-1] * 1000, 1),
                "errors": self.errors.get(kind, 0),
                "slowest": self.slowest[kind][1],
            }
        return out


def search_target(rng: random.Random) -> str:
    term = rng.choice(WORDS) if rng.random() < 0.8 else str(rng.randint(1000, 99999))
    condition = f"contains(Name,'{term}') eq true or contains(Phone,'{term}') eq true"
    return "/odata/Accounts?$select=GoldenId,Name,Phone&$filter=" + quote(condition) + "&$top=25"


def record_target(rng: random.Random, accounts: int) -> str:
    key = "A" + str(rng.randint(1, accounts)).zfill(17)
    return f"/odata/Accounts('{key}')?$select=GoldenId,Name,Website,Phone,BillingCity,Industry"


def related_target(rng: random.Random, accounts: int) -> str:
    key = "A" + str(rng.randint(1, accounts)).zfill(17)
    return (
        f"/odata/Accounts('{key}')/Contacts?$select=GoldenId,Name,Email,Phone&$count=true&$top=26"
    )


async def closed_loop(port: int, clients: int, seconds: float, pick) -> dict:
    recorder = Recorder()
    stop = time.monotonic() + seconds

    async def client(index: int) -> None:
        rng = random.Random(index)
        connection = Connection(port)
        while time.monotonic() < stop:
            kind, target = pick(rng)
            started = time.perf_counter()
            status, _ = await connection.get(target)
            recorder.add(kind, time.perf_counter() - started, status, target)

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return recorder.summary(time.monotonic() - started)


async def walk(port: int, limit_seconds: float | None = None) -> dict:
    connection = Connection(port)
    target = "/odata/Accounts?$select=GoldenId,Name,Phone,BillingCity,BillingCountry&$count=true"
    rows = pages = errors = 0
    page_times: list[float] = []
    started = time.perf_counter()
    while target:
        t0 = time.perf_counter()
        status, body = await connection.get(target, "Prefer: odata.maxpagesize=2000\r\n")
        page_times.append(time.perf_counter() - t0)
        if status != 200:
            errors += 1
            break
        document = orjson.loads(body)
        rows += len(document["value"])
        pages += 1
        link = document.get("@odata.nextLink")
        target = urlsplit(link)._replace(scheme="", netloc="").geturl() if link else ""
        if limit_seconds is not None and time.perf_counter() - started > limit_seconds:
            break
    elapsed = time.perf_counter() - started
    return {
        "rows": rows,
        "pages": pages,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rows_per_second": round(rows / elapsed),
        "first_10_pages_ms": round(statistics.mean(page_times[:10]) * 1000, 1),
        "last_10_pages_ms": round(statistics.mean(page_times[-10:]) * 1000, 1),
    }


async def mixed(port: int, pid: int, clients: int, seconds: float, accounts: int) -> dict:
    samples: list[float] = []
    stop = time.monotonic() + seconds

    def pick(rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll < 0.55:
            return "list_view", LIST_VIEW
        if roll < 0.75:
            return "search", search_target(rng)
        if roll < 0.93:
            return "record", record_target(rng, accounts)
        return "related_list", related_target(rng, accounts)

    async def sample_memory() -> None:
        while time.monotonic() < stop:
            samples.append(rss_mib(pid))
            await asyncio.sleep(5)

    async def walkers() -> list[dict]:
        results = []
        while time.monotonic() < stop - 1:
            results.append(await walk(port, limit_seconds=stop - time.monotonic()))
        return results

    load, _, walks = await asyncio.gather(
        closed_loop(port, clients, seconds, pick), sample_memory(), walkers()
    )
    return {
        "requests": load,
        "walks": walks,
        "rss_mib": {
            "start": round(samples[0], 1),
            "end": round(samples[-1], 1),
            "max": round(max(samples), 1),
            "samples": [round(s, 1) for s in samples],
        },
    }


async def run(args: argparse.Namespace, port: int, pid: int) -> dict:
    results: dict = {"clients": args.clients, "cores": os.cpu_count(), "workers": args.workers}
    only = set(args.only.split(","))
    meter = CpuMeter(pid)
    # Warm up: first connections, the count cache and Postgres' buffers.
    await closed_loop(port, 4, 5, lambda rng: ("warmup", LIST_VIEW))
    await closed_loop(port, 4, 5, lambda rng: ("warmup", search_target(rng)))
    if "list_view" in only:
        started = meter.start()
        results["list_view"] = await closed_loop(
            port, args.clients, args.scenario_seconds, lambda rng: ("list_view", LIST_VIEW)
        )
        results["list_view"]["machine"] = meter.stop(started)
        print("list view", results["list_view"], flush=True)
    if "search" in only:
        started = meter.start()
        results["search"] = await closed_loop(
            port, args.clients, args.scenario_seconds, lambda rng: ("search", search_target(rng))
        )
        results["search"]["machine"] = meter.stop(started)
        print("search", results["search"], flush=True)
    if "walk" in only:
        started = meter.start()
        results["walk"] = await walk(port)
        results["walk"]["machine"] = meter.stop(started)
        print("walk", results["walk"], flush=True)
    if "mixed" in only and args.duration > 0:
        started = meter.start()
        results["mixed"] = await mixed(port, pid, args.clients, args.duration, args.accounts)
        results["mixed"]["machine"] = meter.stop(started)
        print("mixed", json.dumps(results["mixed"]["requests"]), flush=True)
        print("mixed walks", results["mixed"]["walks"], flush=True)
        print("server RSS MiB", results["mixed"]["rss_mib"], flush=True)
        print("mixed machine", results["mixed"]["machine"], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300, help="mixed-load seconds")
    parser.add_argument("--scenario-seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=3_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (odata serve --workers)"
    )
    parser.add_argument(
        "--only",
        default="list_view,search,walk,mixed",
        help="comma-separated scenarios to run: list_view, search, walk, mixed",
    )
    parser.add_argument("--out", default="odata_load.json", help="file name in bench/out")
    args = parser.parse_args()
    url = prepare_database(args.reuse, args.accounts, args.contacts)
    port = free_port()
    server = start_server(url, port, args.workers)
    try:
        results = asyncio.run(run(args, port, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / args.out).write_text(json.dumps(results, indent=2))
    print(f"written to {out / args.out}")


if __name__ == "__main__":
    main()
