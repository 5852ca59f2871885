"""The narrow frames resolution reads: each record's match keys, by record id."""

from __future__ import annotations

import datetime
import io

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from warehouse.parallel import in_background
from warehouse.sql import copy_out, join_by_index_lookups, plan_for_few_rows

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
        "c.mobile_phone, c.phone, c.title, c.birthdate, c.key_national_id, c.key_street, "
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
_CSV = "FORMAT csv, HEADER, NULL '\\N'"
# Up to this many records are looked up row by row (index lookups for every join).
FEW_ROWS = 200_000
# From this many records on, the lookups are split over two connections.
SPLIT_ROWS = 20_000


def load_frame(engine: Engine, obj: str, record_ids: np.ndarray | None = None) -> pd.DataFrame:
    """Every record's match keys, or only those of `record_ids`, in record id order.

    Read with COPY and parsed by pandas' C reader: for a million rows several times
    faster than building a Python tuple per row.
    """
    if record_ids is not None and len(record_ids) >= SPLIT_ROWS:
        # Two halves on two connections: Postgres looks each half up on a core of its
        # own while this process parses the other.
        record_ids = np.unique(record_ids)
        half = len(record_ids) // 2
        second = in_background(lambda: _read(engine, obj, record_ids[half:]))
        frame = pd.concat([_read(engine, obj, record_ids[:half]), second.result()])
    else:
        frame = _read(engine, obj, record_ids)
    frame = frame.reset_index(drop=True)
    # Match keys are compared as Python objects; nulls must be None, not NaN.
    frame = frame.where(frame.notna(), None)
    frame["record_id"] = frame["record_id"].astype(np.int64)
    if "account_cluster" in frame:
        # Compared as codes: a float column (NaN for none) factorises fastest.
        frame["account_cluster"] = pd.to_numeric(frame["account_cluster"]).astype(np.float64)
    if "birthdate" in frame:
        frame["birthdate"] = frame["birthdate"].map(
            lambda v: datetime.date.fromisoformat(v) if v is not None else None
        )
    return frame


def _read(engine: Engine, obj: str, record_ids: np.ndarray | None) -> pd.DataFrame:
    """The frame's rows as text, as COPY sends them."""
    where, params = "", {}
    if record_ids is not None:
        where = f"WHERE {_FRAME_ALIAS[obj]}.record_id = ANY(%(ids)s)"
        params = {"ids": [int(i) for i in record_ids]}

    buffer = io.BytesIO()
    with engine.connect() as conn:
        if record_ids is not None:
            plan_for_few_rows(conn)
            if len(record_ids) <= FEW_ROWS:
                join_by_index_lookups(conn)
        copy_out(conn, FRAME_QUERIES[obj].format(where=where), params, _CSV, buffer)
    # Parsed once whole, not as it arrives: psycopg2 hands COPY's rows to Python one
    # write per row, and on a second thread those writes fight the parser for the GIL
    # (measured: 5.0-5.5 s piped against 4.3 s whole for 760,000 contacts).
    buffer.seek(0)
    return pd.read_csv(buffer, dtype=object, keep_default_na=False, na_values=["\\N"])
