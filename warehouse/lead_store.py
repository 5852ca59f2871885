"""What lead matching reads and keeps: the records each side of it, as it reads them;
every record's keys (`resolve.lead_match_key`); the matching pairs each lead is in
(`resolve.lead_match_pair`); and what each lead was found to be (`resolve.lead_match`).

A full matching (`warehouse.leads`) writes them all; an incremental one
(`warehouse.lead_increments`) reads them and replaces what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from dedupe.blocking import value_hashes
from dedupe.generic import GenericMatcher
from dedupe.lead_match import (
    COMPANY,
    COMPANY_SETTINGS,
    PERSON,
    PERSON_SETTINGS,
    Keyed,
    company_domains,
)
from dedupe.settings import MatchSettings, stored_rules
from warehouse import resolution_state
from warehouse.sql import (
    copy_binary,
    copy_frame,
    ident,
    idents,
    read_int64_column,
    read_query,
)
from warehouse_sql import query

LEAD_KEYS = "resolve.lead_match_key"
_TEXT = ("org", "sfid", "first_name", "last_name", "email", "mobile_phone", "phone")
_TEXT += ("company", "website", "domain")
# Each object's records, as `read_records` reads them.
_QUERIES = {
    "lead": "lead_match_leads",
    "contact": "lead_match_contacts",
    "account": "lead_match_accounts",
}
_MIX = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class Side:
    """One object's records as one model keys them, and the name their keys are kept
    under: each record's `stored_rules` hashes, then its signature."""

    name: str
    object: str
    matcher: GenericMatcher
    settings: MatchSettings

    @property
    def width(self) -> int:
        return len(stored_rules(self.settings)) + 1

    def column(self, rule: tuple[str, ...]) -> int:
        """Where a one-column rule's hash is kept (its last place, as the term
        frequencies are counted)."""
        return len(stored_rules(self.settings)) - 1 - stored_rules(self.settings)[::-1].index(rule)


LEAD_PERSON = Side("lead_person", "lead", PERSON, PERSON_SETTINGS)
CONTACT_PERSON = Side("contact_person", "contact", PERSON, PERSON_SETTINGS)
LEAD_COMPANY = Side("lead_company", "lead", COMPANY, COMPANY_SETTINGS)
ACCOUNT_COMPANY = Side("account_company", "account", COMPANY, COMPANY_SETTINGS)


def read_records(conn: Connection, obj: str, ids: np.ndarray | None = None) -> pd.DataFrame:
    """The live records of `obj` (all, or those of record ids `ids`) as lead matching
    reads them: leads in (org, sfid) order with their company domain, contacts and
    accounts in record id order. Nulls as None."""
    params = {"ids": None if ids is None else [int(i) for i in ids]}
    frame = read_query(conn, query(_QUERIES[obj]), params, text=_TEXT)
    frame = frame.astype({"record_id": np.int64})
    if obj != "lead":
        frame = frame.sort_values("record_id", kind="stable").reset_index(drop=True)
    frame = frame.astype(object).where(frame.notna(), None)
    frame["record_id"] = frame["record_id"].astype(np.int64)
    if obj == "lead":
        frame["domain"] = company_domains(frame["website"], frame["email"])
    return frame


def live_ids(conn: Connection, obj: str) -> np.ndarray:
    """The record ids of `obj`'s live records (unified's: each is in golden_next.xref,
    as the xref's blocking check holds before lead matching runs), ascending."""
    sql = f"SELECT record_id FROM {ident(conn, 'unified', obj)}"
    return np.sort(read_int64_column(conn, sql))


def signatures(keyed: Keyed, matcher: GenericMatcher) -> np.ndarray:
    """A hash of all a model compares of each record: records alike in it are matched
    alike (a lead whose status alone changed need not be matched again)."""
    out = np.zeros(len(keyed), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for index, name in enumerate(matcher.matched):
            values = keyed.features[f"key_{name}"].to_numpy(dtype=object)
            out = (out ^ value_hashes(values, index).view(np.uint64)) * _MIX
    return out.view(np.int64)


def stored_form(keyed: Keyed, side: Side) -> np.ndarray:
    """Records' keys as kept: `stored_rules` hashes, then the signature."""
    return np.column_stack([keyed.keys, signatures(keyed, side.matcher)])


def within(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Whether each of `values` is among `ids` (ascending): by binary search, without
    sorting a million ids again as set operations do."""
    if not len(ids):
        return np.zeros(len(values), dtype=bool)
    where = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return ids[where] == values


def among(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The distinct `values` that are among `ids` (ascending), ascending: what
    `np.intersect1d` gives, without sorting `ids` (a million live records) again."""
    values = np.unique(values)
    return values[within(values, ids)]


@dataclass
class StoredKeys:
    """One side's keys as the last matching left them: record ids ascending, keys in
    their stored form (records x `Side.width`)."""

    ids: np.ndarray
    keys: np.ndarray

    def rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of those of `ids` stored here, and which of `ids` are."""
        found = within(ids, self.ids)
        return np.searchsorted(self.ids, ids[found]), found


def load_keys(conn: Connection, side: Side) -> StoredKeys:
    ids, keys = resolution_state.load_block_keys(conn, side.name, side.width, LEAD_KEYS)
    return StoredKeys(ids, keys)


def save_keys(conn: Connection, side: Side, ids: np.ndarray, keys: np.ndarray) -> None:
    """Every record's keys, written afresh (ids in any order)."""
    order = np.argsort(ids, kind="stable")
    resolution_state.save_block_keys(conn, side.name, ids[order], keys[order], LEAD_KEYS)


def save_key_change(
    conn: Connection,
    side: Side,
    changed: np.ndarray,
    changed_keys: np.ndarray,
    removed: np.ndarray,
    after: StoredKeys,
) -> None:
    resolution_state.save_key_change(
        conn, side.name, changed, changed_keys, removed, after.ids, after.keys, LEAD_KEYS
    )


@dataclass(frozen=True)
class Pairs:
    """Matching pairs by record id: a lead and another lead, contact or account."""

    lead: np.ndarray
    other: np.ndarray  # 'lead', 'contact' or 'account'
    other_id: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.lead)

    def of(self, kind: str) -> Pairs:
        mask = self.other == kind
        return Pairs(self.lead[mask], self.other[mask], self.other_id[mask], self.weight[mask])

    @staticmethod
    def concat(parts: list[Pairs]) -> Pairs:
        return Pairs(
            np.concatenate([p.lead for p in parts]).astype(np.int64),
            np.concatenate([p.other for p in parts]).astype(object),
            np.concatenate([p.other_id for p in parts]).astype(np.int64),
            np.concatenate([p.weight for p in parts]).astype(np.float64),
        )

    @staticmethod
    def between(kind: str, lead: np.ndarray, other_id: np.ndarray, weight: np.ndarray) -> Pairs:
        """Pairs of leads with records of `kind`; pairs of two leads both ways round."""
        if kind == "lead":
            lead, other_id = np.r_[lead, other_id], np.r_[other_id, lead]
            weight = np.r_[weight, weight]
        return Pairs(
            np.asarray(lead, dtype=np.int64),
            np.full(len(lead), kind, dtype=object),
            np.asarray(other_id, dtype=np.int64),
            np.asarray(weight, dtype=np.float64),
        )


def write_pairs(conn: Connection, pairs: Pairs) -> None:
    order = np.lexsort((pairs.other_id, pairs.other, pairs.lead))
    copy_binary(
        conn,
        "resolve.lead_match_pair",
        {
            "lead_id": pairs.lead[order],
            "other_id": pairs.other_id[order],
            "match_weight": pairs.weight[order],
        },
        text=("other", pairs.other[order].tolist()),
    )


def pairs_of(conn: Connection, lead_ids: np.ndarray) -> Pairs:
    """The stored matching pairs of these leads."""
    frame = read_query(
        conn, query("lead_match_pairs_of"), {"ids": [int(i) for i in lead_ids]}, text=("other",)
    )
    # Parsed from text by Python's float(), which reads back exactly what was written.
    weights = frame["match_weight"].astype(str).map(float).to_numpy(dtype=np.float64)
    return Pairs(
        frame["lead_id"].to_numpy(dtype=np.int64),
        frame["other"].to_numpy(dtype=object),
        frame["other_id"].to_numpy(dtype=np.int64),
        weights,
    )


def lead_edges(conn: Connection) -> tuple[np.ndarray, np.ndarray]:
    """Every stored matching pair of two leads (each once: lead id below the other)."""
    frame = read_query(
        conn,
        "SELECT lead_id, other_id FROM resolve.lead_match_pair "
        "WHERE other = 'lead' AND lead_id < other_id",
    )
    return frame["lead_id"].to_numpy(dtype=np.int64), frame["other_id"].to_numpy(dtype=np.int64)


def delete_pairs(
    conn: Connection, others: tuple[str, ...], leads: np.ndarray, records: dict[str, np.ndarray]
) -> np.ndarray:
    """Delete the pairs of kinds `others` that hold one of `leads`, or one of
    `records[kind]` as the other record; return the leads of the pairs deleted."""
    params: dict[str, object] = {"others": list(others), "leads": [int(i) for i in leads]}
    conditions = ["lead_id = ANY(CAST(:leads AS bigint[]))"]
    for kind, ids in records.items():
        params[f"ids_{kind}"] = [int(i) for i in ids]
        conditions.append(f"(other = '{kind}' AND other_id = ANY(CAST(:ids_{kind} AS bigint[])))")
    deleted = conn.execute(
        text(
            "DELETE FROM resolve.lead_match_pair WHERE other = ANY(CAST(:others AS text[])) "
            f"AND ({' OR '.join(conditions)}) RETURNING lead_id"
        ),
        params,
    )
    return np.unique(np.asarray(deleted.scalars().all(), dtype=np.int64))


def write_matches(conn: Connection, rows: pd.DataFrame) -> None:
    """Write every lead's row of `resolve.lead_match`, in place of all there were."""
    conn.exec_driver_sql("TRUNCATE resolve.lead_match")
    _append_matches(conn, rows)


def replace_matches(conn: Connection, rows: pd.DataFrame, replaced: np.ndarray) -> np.ndarray:
    """Write leads' rows of `resolve.lead_match` in place of the rows of the leads
    `replaced` (those gone among them); return the leads whose row this moved
    (written where there was none or a different one, or deleted), ids ascending."""
    deleted = conn.execute(
        text(
            "DELETE FROM resolve.lead_match WHERE record_id = ANY(CAST(:ids AS bigint[])) "
            f"RETURNING {idents(conn, rows.columns)}"
        ),
        {"ids": [int(i) for i in replaced]},
    )
    before = pd.DataFrame(deleted.all(), columns=list(rows.columns))
    _append_matches(conn, rows)
    return rows_moved(before, rows)


def _append_matches(conn: Connection, rows: pd.DataFrame) -> None:
    copy_frame(conn, "resolve.lead_match", rows, list(rows.columns))
    conn.exec_driver_sql("ANALYZE resolve.lead_match")


def rows_moved(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """The record ids of the rows of `after` that `before` lacks or holds otherwise,
    and of the rows of `before` that `after` lacks, ascending (nulls equal nulls)."""
    old = before.set_index("record_id")
    new = after.set_index("record_id")
    common = new.index.intersection(old.index)
    a = new.loc[common, list(old.columns)].astype(object)
    b = old.loc[common].astype(object)
    same = ((a == b) | (a.isna() & b.isna())).all(axis=1)
    return np.union1d(
        common[~same.to_numpy()].to_numpy(dtype=np.int64),
        np.setxor1d(new.index.to_numpy(dtype=np.int64), old.index.to_numpy(dtype=np.int64)),
    )


def unknown_leads(conn: Connection) -> np.ndarray:
    """The leads the last matching found no person for (the company model's), ids
    ascending."""
    return np.sort(
        read_int64_column(
            conn, "SELECT record_id FROM resolve.lead_match WHERE contact_sfid IS NULL"
        )
    )


def match_rows(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame,
    labels: np.ndarray,
    contact: np.ndarray,
    contact_weight: np.ndarray,
    account: np.ndarray,
    account_weight: np.ndarray,
) -> pd.DataFrame:
    """resolve.lead_match's rows: source records, not positions (`leads`, `contacts`,
    `accounts`: the frames the positions refer to)."""
    out = pd.DataFrame({"org": leads["org"], "sfid": leads["sfid"]})
    out["record_id"] = leads["record_id"].to_numpy(dtype=np.int64)
    rep = leads.iloc[labels]
    out["cluster_org"] = rep["org"].to_numpy()
    out["cluster_sfid"] = rep["sfid"].to_numpy()
    for side, frame, found, weight in (
        ("contact", contacts, contact, contact_weight),
        ("account", accounts, account, account_weight),
    ):
        has = found >= 0
        for column in ("org", "sfid"):
            values = np.full(len(out), None, dtype=object)
            values[has] = frame[column].to_numpy(dtype=object)[found[has]]
            out[f"{side}_{column}"] = values
        # To a tenth of a bit: the names' frequencies move every weight a little
        # whenever records arrive, and a lead is rewritten only when its match moves.
        out[f"{side}_weight"] = np.where(has, np.round(weight, 1), np.nan)
    return out


def load_frequencies(conn: Connection, model: str) -> dict[str, pd.Series]:
    """The shares each model's pairs were scored with, per term-frequency column: a
    series of shares by value hash."""
    rows = conn.execute(
        text(
            "SELECT column_name, hashes, shares FROM resolve.lead_match_frequency "
            "WHERE model = :model"
        ),
        {"model": model},
    ).all()
    return {
        row.column_name: pd.Series(
            np.frombuffer(row.shares, dtype=np.float64),
            index=np.frombuffer(row.hashes, dtype=np.int64),
        )
        for row in rows
    }


def save_frequencies(conn: Connection, model: str, shares: dict[str, pd.Series]) -> None:
    conn.execute(
        text("DELETE FROM resolve.lead_match_frequency WHERE model = :model"), {"model": model}
    )
    for column, values in shares.items():
        conn.execute(
            text(
                "INSERT INTO resolve.lead_match_frequency (model, column_name, hashes, shares) "
                "VALUES (:model, :column, :hashes, :shares)"
            ),
            {
                "model": model,
                "column": column,
                "hashes": np.ascontiguousarray(values.index.to_numpy(), dtype=np.int64).tobytes(),
                "shares": np.ascontiguousarray(values.to_numpy(), dtype=np.float64).tobytes(),
            },
        )
