"""The narrow frames resolution reads: each record's match keys, by record id."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

FRAME_QUERIES = {
    "account": (
        "SELECT u.record_id, u.org, u.sfid, u.key_name, u.domain, u.phone, u.key_street, "
        "u.key_postcode, u.billing_city, u.billing_country_code, u.key_registration, "
        "x.golden_id AS previous "
        "FROM unified.account u LEFT JOIN golden.xref x "
        "ON x.object = 'account' AND x.org = u.org AND x.sfid = u.sfid "
        "{where} ORDER BY u.record_id"
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
        "{where} ORDER BY c.record_id"
    ),
}
_FRAME_ALIAS = {"account": "u", "contact": "c"}


def load_frame(engine: Engine, obj: str, record_ids: np.ndarray | None = None) -> pd.DataFrame:
    """Every record's match keys, or only those of `record_ids`, in record id order."""
    where, params = "", {}
    if record_ids is not None:
        where = f"WHERE {_FRAME_ALIAS[obj]}.record_id = ANY(:ids)"
        params = {"ids": [int(i) for i in record_ids]}
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(FRAME_QUERIES[obj].format(where=where)), conn, params=params)
    # Match keys are compared as Python objects; nulls must be None, not NaN.
    frame = frame.astype(object).where(frame.notna(), None)
    if "account_cluster" in frame:
        frame["account_cluster"] = frame["account_cluster"].map(
            lambda v: int(v) if v is not None else None
        )
    return frame
