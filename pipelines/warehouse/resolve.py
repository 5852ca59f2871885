"""Resolve: run the matcher over every unified record of an object and store its output.

The matcher reads only the match keys it needs (a narrow frame), and writes the
scored pairs worth keeping (matches and review candidates, with per-field
weights) and each record's cluster back with COPY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dedupe.resolve import resolve
from dedupe.settings import DEFAULT_SETTINGS, MatchSettings
from pipelines.warehouse.sql import copy_frame

FRAME_QUERIES = {
    "account": (
        "SELECT record_id, org, sfid, key_name, domain, phone, key_street, key_postcode, "
        "billing_city, billing_country_code, key_registration "
        "FROM unified.account ORDER BY record_id"
    ),
    # A contact's account is compared through the account's cluster: two contacts at
    # the same real-world company share it even when their orgs differ.
    "contact": (
        "SELECT c.record_id, c.org, c.sfid, c.key_first, c.key_last, c.key_email, "
        "c.mobile_phone, c.phone, c.birthdate, c.key_national_id, c.key_street, "
        "c.key_postcode, c.mailing_city, ac.cluster_id AS account_cluster "
        "FROM unified.contact c "
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
    blocking: dict[str, int] = field(default_factory=dict)
    oversized_blocks: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates_found(self) -> int:
        return self.records - self.clusters


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


def resolve_object(
    engine: Engine, obj: str, settings: MatchSettings | None = None
) -> ResolveReport:
    settings = settings or DEFAULT_SETTINGS[obj]
    frame = load_frame(engine, obj)
    report = ResolveReport(object=obj, records=len(frame))
    record_ids = frame["record_id"].to_numpy(dtype=np.int64)
    result = resolve(frame, settings)
    scored = result.scored
    report.candidate_pairs = len(scored.left)
    report.matched_pairs = int(scored.is_match.sum())
    report.review_pairs = int(scored.is_review.sum())
    report.clusters = result.cluster_count
    report.blocking = {b.rule: b.pairs for b in result.blocking}
    report.oversized_blocks = {
        b.rule: b.oversized_blocks for b in result.blocking if b.oversized_blocks
    }

    keep = np.flatnonzero(scored.is_match | scored.is_review)
    pairs = pd.DataFrame(
        {
            "left_id": record_ids[scored.left[keep]],
            "right_id": record_ids[scored.right[keep]],
            "match_weight": scored.match_weight[keep].round(4),
            "probability": scored.probability[keep].round(6),
            "field_weights": scored.explain_json(keep),
        }
    )
    clusters = pd.DataFrame({"record_id": record_ids, "cluster_id": record_ids[result.labels]})
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE resolve.{obj}_pair, resolve.{obj}_cluster")
        copy_frame(conn, f"resolve.{obj}_pair", pairs, list(pairs.columns))
        copy_frame(conn, f"resolve.{obj}_cluster", clusters, list(clusters.columns))
    return report
