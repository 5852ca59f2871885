"""Scale benchmark: N generated source records across three orgs through `org360 run`.

Prints wall time per asset step, end-to-end time and peak memory (of this process,
which runs every step, and the comparison workers it forks, sampled every 50 ms: PSS,
which counts the pages they share once, and the RSS sum, which counts them in every
process), then does an
incremental run after a fraction of the source rows changed (edits, new duplicates
and deletions, `demo/changes.py`).

    .venv/bin/python bench/scale.py --records 100000 [--splink] [--verify]

With `--verify`, the same records are then resolved in full and the two publications
compared.

With `--splink`, Splink 5 (from bench/.venv, see bench/README.md) deduplicates the same
contacts and the time ratio is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.database import resolve_database_url
from core.settings import load_settings
from demo.changes import apply_changes
from demo.generator import DemoGenerator
from demo.opportunities import rates_csv
from demo.seed import (
    DEMO_ORGS,
    evaluate,
    evaluate_deals,
    evaluate_leads,
    evaluate_queue,
    seed,
    write_demo_config,
)
from pipelines.runner import run_all
from warehouse.currency import load_rates_file
from warehouse.engines import engine_for
from warehouse.resolution_state import request_full_resolution

ROOT = Path(__file__).resolve().parent.parent

RECORDS_PER_COMPANY = 5.6  # what the generator produces on average


class PeakMemory:
    """Peak memory of this process and its workers (the comparison steps fork workers
    that share the parent's records copy-on-write); Postgres's own is not counted.

    PSS (proportional set size) counts a page shared by several processes once, split
    among them: what the run really holds. The RSS sum counts it in every process."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _measure(self) -> tuple[int, int]:
        pss = rss = 0
        for process in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                info = process.memory_full_info()
                pss += info.pss
                rss += info.rss
        return pss, rss

    def _sample(self) -> None:
        while not self._stop.is_set():
            pss, rss = self._measure()
            self.peak, self.peak_rss = max(self.peak, pss), max(self.peak_rss, rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self.peak, self.peak_rss = self._measure()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def generate_and_seed(url: str, companies: int, seed_value: int) -> dict[str, int]:
    """Rows seeded per object, over every org."""
    data = DemoGenerator(companies=companies, seed=seed_value).generate()
    counts = seed(engine_for(url), data)
    by_object: dict[str, int] = {}
    for table, count in counts.items():
        obj = table.split(".")[1]
        by_object[obj] = by_object.get(obj, 0) + count
    return by_object


def print_lifecycle_quality(url: str) -> None:
    """Deals entered twice found for review, and leads linked to their customers."""
    engine = engine_for(url)
    with engine.begin() as conn:
        # Just published: the leads' score joins a million rows, and a plan made on the
        # statistics of an empty golden.lead ran for more than twenty minutes.
        conn.exec_driver_sql("ANALYZE golden.lead, golden.xref, demo.truth")
    print(f"  {'deals':<8} {evaluate_deals(engine).line()}")
    for kind, quality in evaluate_leads(engine).items():
        print(f"  {'leads':<8} to a {kind}: {quality.line()}")


def print_lead_matching() -> None:
    """How the last run matched the leads: afresh or only those a change concerns."""
    import dagster as dg

    event = dg.DagsterInstance.get().get_latest_materialization_event(
        dg.AssetKey(["golden_next", "lead"])
    )
    if event is None or event.asset_materialization is None:
        return
    found = {key: value.value for key, value in event.asset_materialization.metadata.items()}
    how = "incrementally" if found.get("matched_incrementally") else "afresh"
    print(
        f"  leads matched {how}: {found.get('leads_compared', 0)} compared again, "
        f"{found.get('leads_relinked', 0)} linked again, of {found.get('leads', 0)}"
    )


def fresh_database(name: str) -> str:
    admin = resolve_database_url()
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def step_times(run_ids: list[str]) -> dict[str, float]:
    import dagster as dg

    instance = dg.DagsterInstance.get()
    times: dict[str, float] = {}
    for run_id in run_ids:
        for stat in instance.get_run_step_stats(run_id):
            if stat.end_time and stat.start_time:
                times[stat.step_key] = times.get(stat.step_key, 0) + stat.end_time - stat.start_time
    return times


def compare_with_splink(url: str, org360_steps: dict[str, float]) -> None:
    """Run Splink 5 (bench/.venv) on the contacts just seeded; print its figures and ratios."""
    python = ROOT / "bench" / ".venv" / "bin" / "python"
    if not python.exists():
        print("\nSplink: skipped (create bench/.venv first, see bench/README.md)")
        return
    done = subprocess.run(
        [str(python), str(ROOT / "bench" / "splink_scale.py"), "--database-url", url],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n    ".join(done.stderr.strip().splitlines()[-5:])
        print(f"\nSplink: failed (exit {done.returncode}); the incremental run follows\n    {tail}")
        return
    splink = json.loads(done.stdout.strip().splitlines()[-1])
    # Contact resolution is a graph of steps: fit, comparison shards, clustering.
    resolution = sum(t for step, t in org360_steps.items() if step.startswith("resolve_contacts"))
    print(
        f"\nSplink 5 (DuckDB) on the same contacts: {splink['seconds']:.1f} s, "
        f"peak RSS {splink['peak_rss_mb']:.0f} MiB, precision {splink['precision']:.4f} "
        f"recall {splink['recall']:.4f} F1 {splink['f1']:.4f}"
    )
    print(
        f"  org360 contact resolution {resolution:.1f} s; "
        f"Splink / org360 time ratio {splink['seconds'] / max(resolution, 1e-9):.2f}"
    )


def report_run(label: str, summary, memory: PeakMemory) -> None:
    print(
        f"\n{label}: {summary.seconds:.1f} s end to end, peak memory {memory.peak / 2**20:.0f} "
        f"MiB PSS ({memory.peak_rss / 2**20:.0f} MiB RSS summed over processes)"
    )
    for step, seconds in sorted(step_times(summary.run_ids).items(), key=lambda kv: -kv[1]):
        print(f"  {step:<40} {seconds:8.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--incremental", type=float, default=0.01, help="fraction changed")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="after the incremental run, resolve the same records in full and compare",
    )
    parser.add_argument(
        "--splink", action="store_true", help="also run Splink 5 on the same contacts"
    )
    args = parser.parse_args()

    # A Dagster instance of its own (org360 writes its dagster.yaml: storage in schema
    # dagster of the benchmark's database), so the benchmark's runs stay out of yours.
    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="org360-bench-"))
    url = fresh_database(f"org360_bench_{args.records}")
    started = time.perf_counter()
    companies = max(1, int(args.records / RECORDS_PER_COMPANY))
    # Generated in a process of its own: the records (in Postgres once seeded) must not
    # count as the pipeline's memory.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        rows = pool.apply(generate_and_seed, (url, companies, args.seed))
    print(
        f"seeded Heroku Connect rows across {len(DEMO_ORGS)} orgs in "
        f"{time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{count} {table}" for table, count in rows.items())
    )
    config = write_demo_config(Path(tempfile.mkdtemp()) / "org360.yaml", url)
    # As `org360 demo` does: the org without rate tables gets its rates from a file.
    rates = config.with_name("rates.csv")
    rates.write_text(rates_csv(), encoding="utf-8")
    load_rates_file(engine_for(url), rates, load_settings(config))

    with PeakMemory() as memory:
        summary = run_all(config)
    report_run("full run", summary, memory)
    queued = evaluate_queue(engine_for(url))
    for obj, quality in evaluate(engine_for(url)).items():
        print(f"  {obj:<8} {quality.line()}")
        print(f"  {'':<8} {queued[obj].line()}")
    print_lifecycle_quality(url)
    print_lead_matching()

    if args.splink:
        # Autovacuum catches up on the full run's million-row writes for a minute or
        # two: done here, beforehand, so it does not fall on Splink's clock.
        print(f"\nVACUUM ANALYZE before Splink: {vacuum(url):.1f} s")
        compare_with_splink(url, step_times(summary.run_ids))

    engine = engine_for(url)
    # Twice: right after the full run, with its million-row writes not yet vacuumed
    # (unless --splink vacuumed them first); then as a scheduled run finds the
    # database, autovacuum having been by since.
    first = "after the full run and Splink" if args.splink else "right after the full run"
    for change_seed, label in ((args.seed, first), (args.seed + 1, "next")):
        if change_seed != args.seed:
            print(f"\nVACUUM ANALYZE (autovacuum's work between runs): {vacuum(url):.1f} s")
        changes = apply_changes(engine, args.incremental, seed=change_seed)
        with PeakMemory() as memory:
            incremental = run_all(config)
        report_run(
            f"incremental run, {label} ({changes.total} rows changed: {changes.edited} "
            f"edited, {changes.duplicated} new duplicates, {changes.deleted} deleted)",
            incremental,
            memory,
        )
        print(f"  incremental / full: {incremental.seconds / summary.seconds:.1%}")
        for obj, quality in evaluate(engine).items():
            print(f"  {obj:<8} {quality.line()}")
        print_lifecycle_quality(url)
        print_lead_matching()

    if args.verify:
        # The same records resolved in full: what differs is what incremental runs leave
        # behind (pairs of unchanged records keep their earlier scores).
        published = published_xref(engine)
        leads = lead_matches(engine)
        request_full_resolution(engine)
        full = run_all(config)
        print(f"\nfull resolution of the same records: {full.seconds:.1f} s")
        again = published_xref(engine)
        joined = published.join(again.add_suffix("_full"), how="outer")
        differ = joined["golden_id"] != joined["golden_id_full"]
        print(
            f"  xref rows whose golden id differs from the incremental run's: "
            f"{int(differ.sum())} of {len(joined)}"
        )
        print_lead_differences(leads, lead_matches(engine))
        for obj, quality in evaluate(engine).items():
            print(f"  {obj:<8} {quality.line()}")


def vacuum(url: str) -> float:
    """VACUUM ANALYZE org360's tables, as autovacuum does after a run's bulk writes."""
    started = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) "
                "FROM pg_stat_user_tables WHERE schemaname IN "
                "('staging', 'unified', 'resolve', 'golden_next', 'golden', 'org360')"
            )
        ).scalars()
        for table in tables:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    engine.dispose()
    return time.perf_counter() - started


def lead_matches(engine) -> pd.DataFrame:
    """What lead matching found for each lead (source records, weights)."""
    with engine.connect() as conn:
        return pd.read_sql_query(text("SELECT * FROM resolve.lead_match"), conn).set_index(
            ["org", "sfid"]
        )


def print_lead_differences(incremental: pd.DataFrame, full: pd.DataFrame) -> None:
    """Leads whose links (cluster, contact, account) or weights differ between the
    incremental runs' matching and a full one of the same records."""
    joined = incremental.join(full.add_suffix("_full"), how="outer")
    links = ["cluster_org", "cluster_sfid", "contact_org", "contact_sfid"]
    links += ["account_org", "account_sfid"]
    moved = pd.Series(False, index=joined.index)
    for column in links:
        moved |= joined[column].fillna("") != joined[f"{column}_full"].fillna("")
    weights = np.zeros(len(joined))
    for column in ("contact_weight", "account_weight"):
        differ = (joined[column] - joined[f"{column}_full"]).abs().fillna(0).to_numpy()
        weights = np.fmax(weights, differ)
    print(
        f"  leads whose links differ from a full matching's: {int(moved.sum())} of "
        f"{len(joined)}; weights that differ: {int((weights > 1e-9).sum())} "
        f"(by more than 0.1: {int((weights > 0.1 + 1e-9).sum())})"
    )


def published_xref(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(
            text("SELECT object, org, sfid, golden_id FROM golden.xref"), conn
        ).set_index(["object", "org", "sfid"])


if __name__ == "__main__":
    main()
