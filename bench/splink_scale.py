"""Splink 5 (DuckDB) deduplicating the demo generator's contacts: time, memory, quality.

The records are those `bench/scale.py` seeds: either read from a database it seeded
(`--database-url`: every demo org's Heroku Connect `contact` table, live rows only,
scored against `demo.truth`), or generated here the same way
(`DemoGenerator(companies=records / 5.6, seed=...)`, the same data for the same
`--records` and `--seed`, no database needed). Splink dedupes the contacts of all orgs
together, as org360 does, after a few lines of standardisation in DuckDB (lower case,
accents stripped, phones as their last 9 digits, postcodes without spaces).

The model follows Splink's documented person deduplication (the `deduplicate_50k_synthetic`
example): forename/surname with swapped names and term frequencies, date of birth,
email (exact: its local part is the names again, so Splink's EmailComparison, which
rewards a shared user name, counts the names twice), mobile, switchboard phone, and the
address as one comparison (colleagues share it); prior from deterministic rules, u by
random sampling (1e7 pairs), m by EM blocked on names and on date of birth; clusters at
match probability 0.95.

Timed: reading (or taking) the records, standardising, training, predicting,
clustering. Not timed: generating the data, reading the truth, scoring. Peak memory
is this process's RSS (DuckDB runs in it), sampled every 50 ms, as bench/scale.py does.

    bench/.venv/bin/python bench/splink_scale.py --records 100000            # generate
    bench/.venv/bin/python bench/splink_scale.py --database-url URL          # read seeded
    bench/.venv/bin/python bench/splink_scale.py --records 1000000           # full scale

The last line printed is JSON: {"seconds", "peak_rss_mb", "precision", "recall", "f1", ...},
for bench/scale.py to read when it runs this as a subprocess (with bench/.venv's python;
see bench/README.md for setting up bench/.venv).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedupe.evaluate import score_clusters
from demo.generator import DemoGenerator
from demo.seed import _OMITTED_COLUMNS, DEMO_ORGS

RECORDS_PER_COMPANY = 5.6  # what the generator produces on average, as in bench/scale.py
SOURCE_COLUMNS = (
    "sfid",
    "firstname",
    "lastname",
    "email",
    "phone",
    "mobilephone",
    "mailingstreet",
    "mailingcity",
    "mailingpostalcode",
    "birthdate",
)

STANDARDISE = """
SELECT
    org || ':' || sfid AS unique_id,
    nullif(lower(strip_accents(trim(firstname))), '') AS first_name,
    nullif(lower(strip_accents(trim(lastname))), '') AS surname,
    nullif(lower(trim(email)), '') AS email,
    nullif(right(regexp_replace(mobilephone, '[^0-9]', '', 'g'), 9), '') AS mobile,
    nullif(right(regexp_replace(phone, '[^0-9]', '', 'g'), 9), '') AS phone,
    CAST(CAST(birthdate AS date) AS varchar) AS birthdate,
    nullif(upper(regexp_replace(mailingpostalcode, '[^0-9A-Za-z]', '', 'g')), '') AS postcode,
    nullif(lower(strip_accents(trim(mailingcity))), '') AS city,
    nullif(lower(strip_accents(trim(mailingstreet))), '') AS street
FROM contacts
"""

BLOCKING_RULES = [
    block_on("email"),
    block_on("mobile"),
    block_on("first_name", "surname"),
    "l.first_name = r.surname AND l.surname = r.first_name",
    block_on("substr(first_name, 1, 1)", "surname"),
    block_on("surname", "birthdate"),
    block_on("first_name", "birthdate"),
    block_on("surname", "postcode"),
    block_on("first_name", "postcode"),
]


def _address() -> dict:
    def level(condition: str, label: str) -> dict:
        return {"sql_condition": condition, "label_for_charts": label}

    street = "jaro_winkler_similarity(street_l, street_r) >= 0.9"
    return {
        "output_column_name": "address",
        "comparison_levels": [
            {
                "sql_condition": "(street_l IS NULL OR street_r IS NULL) "
                "AND (postcode_l IS NULL OR postcode_r IS NULL) "
                "AND (city_l IS NULL OR city_r IS NULL)",
                "label_for_charts": "Null",
                "is_null_level": True,
            },
            level(f"{street} AND postcode_l = postcode_r", "street and postcode"),
            level(street, "street"),
            level("postcode_l = postcode_r", "postcode"),
            level("city_l = city_r", "city"),
            cll.ElseLevel(),
        ],
    }


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name", "surname", forename_surname_concat_col_name="full_name"
            ),
            cl.DateOfBirthComparison("birthdate", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("email"),
            cl.ExactMatch("mobile"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            _address(),
        ],
        retain_intermediate_calculation_columns=False,
    )


# ---------------------------------------------------------------- the records and their truth


def generated(records: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    companies = max(1, int(records / RECORDS_PER_COMPANY))
    data = DemoGenerator(companies=companies, seed=seed).generate()
    frames = []
    for org, frame in data.contacts.items():
        # Live records, as org360 stages them: synced (an sfid) and not deleted; without
        # the columns an org's table lacks once seeded (apac has no mobilephone).
        live = frame[frame["sfid"].notna() & ~frame["isdeleted"].astype(bool)]
        live = live.drop(columns=list(_OMITTED_COLUMNS.get(org, {}).get("contact", ())))
        frames.append(live.reindex(columns=SOURCE_COLUMNS).assign(org=org))
    truth = data.truth[data.truth["object"] == "contact"][["org", "sfid", "entity"]]
    return pd.concat(frames, ignore_index=True), truth.reset_index(drop=True)


def read_seeded(url: str) -> pd.DataFrame:
    from sqlalchemy import text

    from core.database import make_engine
    from demo.heroku_connect import quote_ident

    engine = make_engine(url)
    frames = []
    with engine.connect() as conn:
        for org in DEMO_ORGS:
            table = f"{quote_ident(conn, org['schema'])}.{quote_ident(conn, 'contact')}"
            # Orgs may lack a standard column (apac has no mobilephone): read what exists.
            frame = pd.read_sql_query(
                text(f"SELECT * FROM {table} WHERE sfid IS NOT NULL AND isdeleted IS NOT TRUE"),
                conn,
            )
            frames.append(frame.reindex(columns=SOURCE_COLUMNS).assign(org=org["key"]))
    engine.dispose()
    return pd.concat(frames, ignore_index=True)


def read_truth(url: str) -> pd.DataFrame:
    from sqlalchemy import text

    from core.database import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        truth = pd.read_sql_query(
            text("SELECT org, sfid, entity FROM demo.truth WHERE object = 'contact'"), conn
        )
    engine.dispose()
    return truth


# ---------------------------------------------------------------- the run


class PeakMemory:
    """This process's peak RSS, sampled every 50 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def dedupe(contacts, threshold: float, u_pairs: float, phases: dict[str, float]) -> pd.DataFrame:
    def lap(name: str, started: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - started, 2)
        return now

    started = time.perf_counter()
    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    source = contacts() if callable(contacts) else contacts
    started = lap("read", started)
    con.register("contacts", source)
    prepared = con.sql(STANDARDISE).project("*, first_name || ' ' || surname AS full_name")
    linker = Linker(db_api.register(prepared), settings(), log_level="WARNING")
    started = lap("standardise", started)

    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("first_name", "surname", "birthdate")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    for rule in (block_on("first_name", "surname"), block_on("birthdate")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    started = lap("train", started)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    started = lap("predict", started)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    labels = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    lap("cluster", started)
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--database-url", help="read the contacts bench/scale.py seeded here")
    source.add_argument("--records", type=int, default=100_000, help="generate this many records")
    parser.add_argument("--seed", type=int, default=3, help="generator seed (bench/scale.py's)")
    parser.add_argument("--threshold", type=float, default=0.95, help="cluster at this probability")
    parser.add_argument("--u-pairs", type=float, default=1e7, help="random pairs for u")
    args = parser.parse_args()

    if args.database_url:
        contacts, truth = (lambda: read_seeded(args.database_url)), None
        origin = f"read from {args.database_url.rsplit('/', 1)[-1]}"
    else:
        contacts, truth = generated(args.records, args.seed)
        origin = f"generated ({args.records} records, seed {args.seed})"

    phases: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    with PeakMemory() as memory:
        started = time.perf_counter()
        labels = dedupe(contacts, args.threshold, args.u_pairs, phases)
        seconds = time.perf_counter() - started
    if truth is None:
        truth = read_truth(args.database_url)

    truth = truth.assign(unique_id=truth["org"] + ":" + truth["sfid"])
    scored = labels.merge(truth[["unique_id", "entity"]], on="unique_id", validate="one_to_one")
    if len(scored) != len(labels):
        raise SystemExit(f"{len(labels) - len(scored)} contacts have no truth")
    quality = score_clusters(scored, predicted="cluster_id", truth="entity")

    peak_mb = memory.peak / 2**20
    print(
        f"Splink {splink.__version__} dedupe_only on {len(labels)} contacts, {origin}; "
        f"clusters at match probability {args.threshold}"
    )
    print(
        f"\nsplink run: {seconds:.1f} s end to end, peak RSS {peak_mb:.0f} MiB "
        f"(RSS before: {memory.start / 2**20:.0f} MiB); load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores"
    )
    for phase, took in phases.items():
        print(f"  {phase:<40} {took:8.2f} s")
    print(f"  contact  {quality.line()}")
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_mb, 1),
                "precision": round(quality.precision, 4),
                "recall": round(quality.recall, 4),
                "f1": round(quality.f1, 4),
                "bcubed_f1": round(quality.bcubed_f1, 4),
                "contacts": len(labels),
                "phases": phases,
            }
        )
    )


if __name__ == "__main__":
    main()
