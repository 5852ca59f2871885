"""Resolve: run the matcher over every unified record of an object and store its output.

Three steps, so the comparisons can run anywhere: `fit_model` fits (or keeps) the
model; `compare_shard` scores the candidate pairs one shard owns (shards find
disjoint pairs, see dedupe.blocking) and writes those worth keeping (matches and
review candidates, with per-field weights) with COPY; `cluster_object` clusters
every shard's matches and writes each record's cluster. Each step reads only the
match keys it needs (a narrow frame) from Postgres.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dedupe.blocking import BlockingReport, BlockKeys, block_keys, candidate_pairs
from dedupe.cluster import cluster
from dedupe.estimate import MODEL_VERSION, fit, parameters, with_parameters
from dedupe.features import FEATURES
from dedupe.score import CodedColumns, score_pairs
from dedupe.settings import DEFAULT_SETTINGS, MatchSettings
from pipelines.warehouse.sql import copy_frame
from pipelines.warehouse.steward import decisions_for

FRAME_QUERIES = {
    "account": (
        "SELECT u.record_id, u.org, u.sfid, u.key_name, u.domain, u.phone, u.key_street, "
        "u.key_postcode, u.billing_city, u.billing_country_code, u.key_registration, "
        "x.golden_id AS previous "
        "FROM unified.account u LEFT JOIN golden.xref x "
        "ON x.object = 'account' AND x.org = u.org AND x.sfid = u.sfid "
        "ORDER BY u.record_id"
    ),
    # A contact's account is compared through the account's cluster: two contacts at
    # the same real-world company share it even when their orgs differ.
    "contact": (
        "SELECT c.record_id, c.org, c.sfid, c.key_first, c.key_last, c.key_email, "
        "c.mobile_phone, c.phone, c.birthdate, c.key_national_id, c.key_street, "
        "c.key_postcode, c.mailing_city, ac.cluster_id AS account_cluster, "
        "x.golden_id AS previous "
        "FROM unified.contact c "
        "LEFT JOIN golden.xref x ON x.object = 'contact' AND x.org = c.org AND x.sfid = c.sfid "
        "LEFT JOIN unified.account a ON a.org = c.org AND a.sfid = c.account_sfid "
        "LEFT JOIN resolve.account_cluster ac ON ac.record_id = a.record_id "
        "ORDER BY c.record_id"
    ),
}


@dataclass
class ResolveReport:
    object: str
    records: int = 0
    candidate_pairs: int = 0
    matched_pairs: int = 0
    review_pairs: int = 0
    clusters: int = 0
    must_links: int = 0
    cannot_links: int = 0
    decisions_ignored: int = 0
    refitted: bool = False
    shards: int = 1
    blocking: dict[str, int] = field(default_factory=dict)
    oversized_blocks: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates_found(self) -> int:
        return self.records - self.clusters


def steward_links(
    frame: pd.DataFrame, decisions: pd.DataFrame
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], int]:
    """Steward decisions as position pairs: (must-links, cannot-links, decisions ignored).

    A decision about a record that is no longer live is kept in the table but has
    nothing to act on; it is counted, not an error.
    """
    if decisions.empty:
        none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        return none, none, 0
    positions = pd.Series(
        np.arange(len(frame)), index=pd.MultiIndex.from_arrays([frame["org"], frame["sfid"]])
    )
    a = positions.reindex(pd.MultiIndex.from_arrays([decisions["org_a"], decisions["sfid_a"]]))
    b = positions.reindex(pd.MultiIndex.from_arrays([decisions["org_b"], decisions["sfid_b"]]))
    usable = a.notna().to_numpy() & b.notna().to_numpy()
    left = a.to_numpy()[usable].astype(np.int64)
    right = b.to_numpy()[usable].astype(np.int64)
    is_match = (decisions["decision"] == "match").to_numpy()[usable]
    return (
        (left[is_match], right[is_match]),
        (left[~is_match], right[~is_match]),
        int((~usable).sum()),
    )


def load_frame(engine: Engine, obj: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(FRAME_QUERIES[obj]), conn)
    # Match keys are compared as Python objects; nulls must be None, not NaN.
    frame = frame.astype(object).where(frame.notna(), None)
    if "account_cluster" in frame:
        frame["account_cluster"] = frame["account_cluster"].map(
            lambda v: int(v) if v is not None else None
        )
    return frame


# Refit the model's u values and prior when the data grew or shrank by more than this.
REFIT_CHANGE = 0.10


def _stored_parameters(engine: Engine, obj: str) -> dict | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT parameters FROM org360.match_model WHERE object = :obj"), {"obj": obj}
        ).scalar()


def _store_parameters(engine: Engine, obj: str, params: dict) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org360.match_model (object, parameters) "
                "VALUES (:obj, CAST(:params AS jsonb)) "
                "ON CONFLICT (object) DO UPDATE SET parameters = excluded.parameters, "
                "fitted_at = now()"
            ),
            {"obj": obj, "params": json.dumps(params)},
        )


@dataclass
class Prepared:
    """What every comparison shard of one object works on, in one run."""

    features: pd.DataFrame
    settings: MatchSettings
    record_ids: np.ndarray
    previous: np.ndarray
    keys: BlockKeys | None = None
    coded: CodedColumns | None = None

    def columns(self) -> CodedColumns:
        if self.coded is None:
            self.coded = CodedColumns(self.features)
        return self.coded

    def block_keys(self) -> BlockKeys:
        if self.keys is None:
            model = self.settings
            self.keys = block_keys(self.features, model.blocking_rules, model.max_block_size)
        return self.keys


# Shards that run in one process (the in-process executor, `resolve_object`) share the
# loaded records and their features instead of each loading them again. Keyed by run.
_PREPARED: dict[tuple[str, str, str], Prepared] = {}


def _cache_key(engine: Engine, obj: str, run_key: str) -> tuple[str, str, str]:
    return (engine.url.render_as_string(hide_password=True), obj, run_key)


def _prepare(
    frame: pd.DataFrame, features: pd.DataFrame, settings: MatchSettings, params: dict
) -> Prepared:
    return Prepared(
        features=features,
        settings=with_parameters(settings, params),
        record_ids=frame["record_id"].to_numpy(dtype=np.int64),
        previous=frame["previous"].to_numpy(dtype=object),
    )


def _prepared(engine: Engine, obj: str, settings: MatchSettings, run_key: str) -> Prepared:
    key = _cache_key(engine, obj, run_key)
    if key not in _PREPARED:
        params = _stored_parameters(engine, obj)
        if params is None:
            raise RuntimeError(f"resolve.{obj}: no fitted model; the fit step runs first")
        frame = load_frame(engine, obj)
        features = FEATURES[obj](frame.reset_index(drop=True))
        _PREPARED[key] = _prepare(frame, features, settings, params)
    return _PREPARED[key]


@dataclass
class FitReport:
    object: str
    records: int
    refitted: bool


def fit_model(
    engine: Engine, obj: str, settings: MatchSettings | None = None, run_key: str = ""
) -> FitReport:
    """Fit the model to the data, or keep the stored one while it still describes them;
    clear the pairs of the last run for the shards to fill."""
    settings = settings or DEFAULT_SETTINGS[obj]
    with engine.connect() as conn:
        records = conn.execute(text(f"SELECT count(*) FROM unified.{obj}")).scalar_one()
    stored = _stored_parameters(engine, obj)
    reuse = (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(records - stored["records"]) <= REFIT_CHANGE * max(stored["records"], 1)
    )
    if not reuse:
        frame = load_frame(engine, obj)
        features = FEATURES[obj](frame.reset_index(drop=True))
        stored = parameters(fit(features, settings), len(frame))
        _store_parameters(engine, obj, stored)
        _PREPARED[_cache_key(engine, obj, run_key)] = _prepare(frame, features, settings, stored)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_pair")
    return FitReport(object=obj, records=records, refitted=not reuse)


@dataclass
class ShardPairs:
    """One shard's scored pairs that clustering needs, by record id."""

    shard: int
    candidate_pairs: int
    review_pairs: int
    match_left: np.ndarray
    match_right: np.ndarray
    match_weight: np.ndarray
    cannot_left: np.ndarray
    cannot_right: np.ndarray
    blocking: list[BlockingReport] = field(default_factory=list)


def compare_shard(
    engine: Engine,
    obj: str,
    shard: int,
    shards: int,
    settings: MatchSettings | None = None,
    run_key: str = "",
) -> ShardPairs:
    """Score the candidate pairs this shard owns; keep matches and review candidates
    (with per-field weights) in `resolve.<obj>_pair`, return what clustering needs."""
    prepared = _prepared(engine, obj, settings or DEFAULT_SETTINGS[obj], run_key)
    model = prepared.settings
    left, right, blocking = candidate_pairs(
        prepared.features,
        model.blocking_rules,
        model.max_block_size,
        shard,
        shards,
        keys=prepared.block_keys(),
    )
    scored = score_pairs(prepared.features, left, right, model, coded=prepared.columns())
    previous = prepared.previous
    scored.previously_together = pd.notna(previous[left]) & (previous[left] == previous[right])
    ids = prepared.record_ids
    is_match, is_review = scored.is_match, scored.is_review
    keep = np.flatnonzero(is_match | is_review)
    pairs = pd.DataFrame(
        {
            "left_id": ids[scored.left[keep]],
            "right_id": ids[scored.right[keep]],
            "match_weight": scored.match_weight[keep].round(4),
            "probability": scored.probability[keep].round(6),
            "field_weights": scored.explain_json(keep),
            "shard": shard,
        }
    )
    with engine.begin() as conn:
        # A retried shard replaces what it wrote before.
        conn.execute(text(f"DELETE FROM resolve.{obj}_pair WHERE shard = :s"), {"s": shard})
        copy_frame(conn, f"resolve.{obj}_pair", pairs, list(pairs.columns))
    cannot = scored.is_cannot_link
    return ShardPairs(
        shard=shard,
        candidate_pairs=len(left),
        review_pairs=int(is_review.sum()),
        match_left=ids[left[is_match]],
        match_right=ids[right[is_match]],
        match_weight=scored.match_weight[is_match].astype(np.float32),
        cannot_left=ids[left[cannot]],
        cannot_right=ids[right[cannot]],
        blocking=blocking,
    )


def cluster_object(
    engine: Engine, obj: str, shards: list[ShardPairs], run_key: str = ""
) -> ResolveReport:
    """Cluster every shard's matches under the cannot-links and steward decisions."""
    _PREPARED.pop(_cache_key(engine, obj, run_key), None)
    decisions = decisions_for(engine, obj)
    # Source ids only when there are steward decisions to place.
    columns = "record_id, org, sfid" if len(decisions) else "record_id"
    with engine.connect() as conn:
        records = pd.read_sql_query(
            text(f"SELECT {columns} FROM unified.{obj} ORDER BY record_id"), conn
        )
    record_ids = records["record_id"].to_numpy(dtype=np.int64)
    report = ResolveReport(object=obj, records=len(records))
    shards = sorted(shards, key=lambda s: s.shard)

    def positions(name: str) -> np.ndarray:
        values = np.concatenate([getattr(s, name) for s in shards] or [np.empty(0, np.int64)])
        return np.searchsorted(record_ids, values.astype(np.int64))

    match_left, match_right = positions("match_left"), positions("match_right")
    weight = np.concatenate([s.match_weight for s in shards] or [np.empty(0, np.float32)])
    must, cannot, report.decisions_ignored = steward_links(records, decisions)
    report.must_links, report.cannot_links = len(must[0]), len(cannot[0])
    labels = cluster(
        len(records),
        match_left,
        match_right,
        weight,
        np.concatenate([positions("cannot_left"), cannot[0]]),
        np.concatenate([positions("cannot_right"), cannot[1]]),
        must[0],
        must[1],
    )
    report.candidate_pairs = sum(s.candidate_pairs for s in shards)
    report.matched_pairs = len(weight)
    report.review_pairs = sum(s.review_pairs for s in shards)
    report.clusters = len(np.unique(labels))
    report.shards = len(shards)
    for s in shards:
        for b in s.blocking:
            report.blocking[b.rule] = report.blocking.get(b.rule, 0) + b.new_pairs
            if b.oversized_blocks:
                report.oversized_blocks[b.rule] = (
                    report.oversized_blocks.get(b.rule, 0) + b.oversized_blocks
                )
    clusters = pd.DataFrame({"record_id": record_ids, "cluster_id": record_ids[labels]})
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_cluster")
        copy_frame(conn, f"resolve.{obj}_cluster", clusters, list(clusters.columns))
        conn.exec_driver_sql(f"ANALYZE resolve.{obj}_pair, resolve.{obj}_cluster")
    return report


def resolve_object(
    engine: Engine, obj: str, settings: MatchSettings | None = None, shards: int = 1
) -> ResolveReport:
    """The whole resolution of one object in this process: fit, every shard, cluster."""
    run_key = f"local-{uuid.uuid4().hex}"
    fitted = fit_model(engine, obj, settings, run_key)
    try:
        results = [compare_shard(engine, obj, s, shards, settings, run_key) for s in range(shards)]
    finally:
        _PREPARED.pop(_cache_key(engine, obj, run_key), None)
    report = cluster_object(engine, obj, results, run_key)
    report.refitted = fitted.refitted
    return report
