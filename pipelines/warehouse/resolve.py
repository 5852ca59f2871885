"""Resolve: run the matcher over every unified record of an object and store its output.

The matcher reads only the match keys it needs (a narrow frame), and writes the
scored pairs worth keeping (matches and review candidates, with per-field
weights) and each record's cluster back with COPY.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dedupe.estimate import MODEL_VERSION, parameters, with_parameters
from dedupe.resolve import resolve
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


def resolve_object(
    engine: Engine, obj: str, settings: MatchSettings | None = None
) -> ResolveReport:
    settings = settings or DEFAULT_SETTINGS[obj]
    frame = load_frame(engine, obj)
    report = ResolveReport(object=obj, records=len(frame))
    record_ids = frame["record_id"].to_numpy(dtype=np.int64)
    previous = frame["previous"].to_numpy(dtype=object)
    stored = _stored_parameters(engine, obj)
    reuse = (
        stored is not None
        and stored.get("version") == MODEL_VERSION
        and abs(len(frame) - stored["records"]) <= REFIT_CHANGE * max(stored["records"], 1)
    )
    must, cannot, report.decisions_ignored = steward_links(frame, decisions_for(engine, obj))
    report.must_links, report.cannot_links = len(must[0]), len(cannot[0])
    constraints = {"must_links": must, "cannot_links": cannot, "previous": previous}
    if reuse:
        result = resolve(frame, with_parameters(settings, stored), fit_to_data=False, **constraints)
    else:
        result = resolve(frame, settings, **constraints)
        _store_parameters(engine, obj, parameters(result.settings, len(frame)))
    report.refitted = not reuse
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
        conn.exec_driver_sql(f"ANALYZE resolve.{obj}_pair, resolve.{obj}_cluster")
    return report
