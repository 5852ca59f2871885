"""Extracting an org through the Salesforce API: records per second into staging, and
peak memory, for orgs of growing size.

Starts org360's Salesforce stand-in in a process of its own (HTTPS on 127.0.0.1, the
Bulk API 2.0 protocol), fills it with N generated accounts through its admin
endpoint, and, for each size, extracts them in a fresh child process (so its peak
memory is the extract's alone) into a database of their own: the Bulk query read page
by page into Postgres, merged into the org's Connect-shaped table, then staged. Then
1% of the records change and the incremental extract is timed.

    .venv/bin/python bench/salesforce_extract.py --records 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import fresh_database

USER, PASSWORD, TOKEN = "bench@org360.test", "bench-password", "benchtoken"
CHUNK = 100_000
# The records were changed a second apart until a day before the benchmark: a later
# change stands out, as in an org whose records change over time.
SEEDED_UNTIL = datetime.now(UTC) - timedelta(days=1)


def _stamp(n: int) -> str:
    return (SEEDED_UNTIL - timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


INDUSTRIES = ("Banking", "Retail", "Energy", "Technology", "Healthcare", "Manufacturing")


def start_standin() -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "salesforce_standin",
            "--port",
            "0",
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = json.loads(process.stdout.readline())
    return process, ready


def seed_accounts(ready: dict, count: int, start: int = 0) -> None:
    rng = random.Random(start)
    with httpx.Client(verify=ready["ca_path"], timeout=600) as client:
        for first in range(start, start + count, CHUNK):
            lines = [
                "Name,Website,Phone,BillingStreet,BillingCity,BillingPostalCode,"
                "BillingCountry,Industry,Type,AnnualRevenue,NumberOfEmployees,"
                "CreatedDate,LastModifiedDate,SystemModstamp"
            ]
            for n in range(first, min(first + CHUNK, start + count)):
                lines.append(
                    f"Company {n} Holdings,https://www.company{n}.example,"
                    f"+44 20 7{n % 1000:03d} {n % 10000:04d},{n % 997} High Street,"
                    f"City {n % 5000},AB{n % 90 + 10} {n % 9}CD,United Kingdom,"
                    f"{rng.choice(INDUSTRIES)},Customer,{rng.randint(1, 10**9)}.0,"
                    f"{rng.randint(1, 50000)},{_stamp(n)},{_stamp(n)},{_stamp(n)}"
                )
            response = client.post(
                f"{ready['url']}/__standin__/records/Account",
                content="\n".join(lines).encode(),
                headers={"X-Standin-Token": ready["admin_token"], "Content-Type": "text/csv"},
            )
            response.raise_for_status()


def touch_accounts(ready: dict, ids: list[str]) -> None:
    with httpx.Client(verify=ready["ca_path"], timeout=600) as client:
        body = "Id,Industry\n" + "\n".join(f"{i},Aerospace" for i in ids)
        client.post(
            f"{ready['url']}/__standin__/update/Account",
            content=body.encode(),
            headers={"X-Standin-Token": ready["admin_token"], "Content-Type": "text/csv"},
        ).raise_for_status()


def peak_mib() -> float:
    """This process's peak resident memory since it started (VmHWM: unlike ru_maxrss,
    not inherited from the parent it was forked from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _extract_in_child(config: str, queue: multiprocessing.Queue) -> None:
    """One extract and staging of the org's accounts; reports times and peak memory."""
    from core.settings import load_settings
    from salesforce_api.connection import OrgConnection
    from salesforce_api.extract import extract_table
    from warehouse.engines import engine_for
    from warehouse.staging import stage

    settings = load_settings(config)
    org = settings.org("bench")
    engine = engine_for(settings.database_url)
    started = time.perf_counter()
    report = extract_table(engine, OrgConnection(org), "account")
    extracted = time.perf_counter() - started
    extract_peak = peak_mib()
    print(f"    {report.line()}", flush=True)
    started = time.perf_counter()
    staged = stage(engine, org, "account")
    staging = time.perf_counter() - started
    queue.put(
        {
            "rows": report.rows,
            "pages": report.pages,
            "full": report.full,
            "extract_s": extracted,
            "staging_s": staging,
            "staged": staged.upserted,
            "peak_mib": peak_mib(),
            "extract_peak_mib": extract_peak,
        }
    )


def extract(config: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_extract_in_child, args=(str(config), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def line(label: str, r: dict) -> str:
    total = r["extract_s"] + r["staging_s"]
    return (
        f"{label}: {r['rows']:,} records in {r['pages']} pages: extract {r['extract_s']:.1f} s "
        f"({r['rows'] / r['extract_s']:,.0f}/s), staging {r['staging_s']:.1f} s "
        f"({r['staged']:,} staged); into staging {r['rows'] / total:,.0f} records/s; "
        f"peak memory {r['extract_peak_mib']:,.0f} MiB extracting, {r['peak_mib']:,.0f} MiB "
        "with staging"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--page-size", type=int, default=100_000)
    args = parser.parse_args()
    process, ready = start_standin()
    os.environ.update(
        {
            "BENCH_SF_USER": USER,
            "BENCH_SF_PASSWORD": PASSWORD,
            "BENCH_SF_TOKEN": TOKEN,
            "REQUESTS_CA_BUNDLE": ready["ca_path"],
        }
    )
    seeded = 0
    try:
        for size in sorted(args.records):
            started = time.perf_counter()
            seed_accounts(ready, size - seeded, start=seeded)
            seeded = size
            print(f"stand-in: {size:,} accounts ({time.perf_counter() - started:.1f} s to add)")
            url = fresh_database(f"org360_bench_extract_{size}")
            org = {
                "key": "bench",
                "schema": "sf_bench",
                "source": "salesforce",
                "salesforce": {
                    "login_url": ready["url"],
                    "username_env": "BENCH_SF_USER",
                    "password_env": "BENCH_SF_PASSWORD",
                    "security_token_env": "BENCH_SF_TOKEN",
                    "page_size": args.page_size,
                },
            }
            with tempfile.TemporaryDirectory() as tmp:
                config = Path(tmp) / "org360.yaml"
                config.write_text(yaml.safe_dump({"database_url": url, "orgs": [org]}))
                first = extract(config)
                print(line("  full extract", first))
                ids = _some_ids(url, size // 100)
                touch_accounts(ready, ids)
                again = extract(config)
                print(line("  1% changed", again))
    finally:
        process.terminate()
        process.wait(30)


def _some_ids(url: str, count: int) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        ids = (
            conn.execute(
                text("SELECT sfid FROM sf_bench.account ORDER BY random() LIMIT :n"), {"n": count}
            )
            .scalars()
            .all()
        )
    engine.dispose()
    return list(ids)


if __name__ == "__main__":
    main()
