"""Which customer each lead already is, in any org (`dedupe.lead_match`), and which
leads are one person: the golden lead's computed columns.

Every live lead is compared with the live contacts and accounts of every org and
with the other leads; what it matched is kept as source records in
`resolve.lead_match`, and the golden lead takes their golden ids from this
publication's xref, so a merge of customers is followed without matching again. A
converted lead is the contact and account it was converted to, whatever it matches.

A run after a small change matches again only the leads that change concerns
(`warehouse.lead_increments`); the first run, a full one, or one whose stored model
would be refitted matches every lead afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from core.catalogue import CATALOGUE, ObjectSpec
from core.settings import Settings
from dedupe.lead_match import (
    COMPANY_LINK_WEIGHT,
    COMPANY_SETTINGS,
    PERSON_SETTINGS,
    LeadLinks,
    link_leads,
)
from warehouse import lead_store as store
from warehouse import resolution_state
from warehouse.insert_time import InsertTime
from warehouse.lead_increments import Delta, RefitDue, frequency_shares, match_changes
from warehouse.lead_store import ACCOUNT_COMPANY, CONTACT_PERSON, LEAD_COMPANY, LEAD_PERSON, Pairs
from warehouse.match_model import REFIT_CHANGE, load_parameters, save_parameters
from warehouse.parallel import forked
from warehouse.sql import ident, newest_change
from warehouse_sql import query


@dataclass(frozen=True)
class LeadReport:
    """What the matching found, over every live lead."""

    leads: int
    with_contact: int
    with_account: int
    in_shared_clusters: int
    # False: nothing the matching reads had changed; the last matching's results stand.
    matched: bool = True
    # True: only the leads the changes concern were matched again.
    incremental: bool = False
    # Leads whose candidate pairs were scored again (every lead, in a full matching),
    # and leads whose links were worked out again.
    compared: int = 0
    relinked: int = 0

    def lines(self) -> list[str]:
        """Warnings for the run's output: a lead matching nothing is no gap."""
        return []

    def metadata(self) -> dict[str, int]:
        return {
            "leads": self.leads,
            "leads_matching_a_contact": self.with_contact,
            "leads_matching_an_account": self.with_account,
            "leads_sharing_a_cluster": self.in_shared_clusters,
            "matched_afresh": int(self.matched and not self.incremental),
            "matched_incrementally": int(self.incremental),
            "leads_compared": self.compared,
            "leads_relinked": self.relinked,
        }


# What the matching reads, in brief: where each side's records last changed and how
# many are live (unified's, as `lead_store` reads them). Equal to the last matching's:
# nothing to match again.
_SIDES = (
    "SELECT concat_ws('/', (SELECT max(change_seq) FROM unified.lead), "
    "(SELECT max(change_seq) FROM unified.contact), "
    "(SELECT max(change_seq) FROM unified.account), "
    "(SELECT count(*) FROM unified.lead), "
    "(SELECT count(*) FROM unified.contact), "
    "(SELECT count(*) FROM unified.account))"
)
# resolve.state: the last matching's change sequence and `_SIDES`; and the models the
# stored pairs were scored with.
_STATE = "lead_match"
_MODEL_STATE = "lead_model"
# Bumped when what lead matching stores per record or pair changes.
STORE_VERSION = 1


@dataclass(frozen=True)
class Matching:
    """What a matching found, and the leads whose match it moved (record ids; None: it
    matched all of them afresh)."""

    report: LeadReport
    moved: np.ndarray | None


def match_leads(conn: Connection, again: bool = False) -> Matching:
    """Match the leads a change concerns, or every live lead afresh (`again`, or no
    usable earlier matching), into resolve.lead_match; nothing when no lead, contact or
    account changed since the last matching (what it found stands: the golden ids it
    leads to are looked up at every build)."""
    sides = conn.execute(text(_SIDES)).scalar_one()
    last = resolution_state.load_state(conn, _STATE)
    if not again and last is not None and last.fingerprint == sides:
        return Matching(_stored_report(conn, matched=False), np.empty(0, dtype=np.int64))
    newest = newest_change(conn)
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM unified.lead)")).scalar_one():
        # No lead to match: nothing to key or keep of the contacts and accounts (a
        # million of them would take a minute); the leads' first arrival is matched
        # afresh.
        _forget_matching(conn)
        resolution_state.save_state(conn, _STATE, resolution_state.ResolveState(newest, sides))
        return Matching(LeadReport(0, 0, 0, 0), None)
    delta = None if again or last is None else _match_changes(conn, last.change_seq)
    if delta is None:
        matching = Matching(_match_all(conn), None)
    else:
        matching = Matching(_stored_report(conn, delta=delta), delta.moved_ids)
    resolution_state.save_state(conn, _STATE, resolution_state.ResolveState(newest, sides))
    return matching


def _forget_matching(conn: Connection) -> None:
    """Drop every stored result, key and pair; the next matching is a full one."""
    for table in ("lead_match", "lead_match_pair", "lead_match_key", "lead_match_frequency"):
        conn.exec_driver_sql(f"TRUNCATE resolve.{table}")
    resolution_state.forget_state(conn, _MODEL_STATE)


def _models(conn: Connection) -> dict[str, dict | None]:
    return {name: load_parameters(conn, f"lead_{name}") for name in ("person", "company")}


def _model_fingerprint(models: dict[str, dict | None]) -> str:
    """The models, settings and stored form the stored keys and pairs come from."""
    return resolution_state.fingerprint(
        PERSON_SETTINGS,
        {
            "models": models,
            "company": repr(COMPANY_SETTINGS),
            "company_link_weight": COMPANY_LINK_WEIGHT,
            "store": STORE_VERSION,
        },
    )


def _match_changes(conn: Connection, since: int) -> Delta | None:
    """Match the leads the changes since `since` concern; None when a full matching
    is due (no stored pairs of these models, or one would be refitted): then this
    attempt leaves nothing behind."""
    models = _models(conn)
    state = resolution_state.load_state(conn, _MODEL_STATE)
    if state is None or state.fingerprint != _model_fingerprint(models):
        return None
    try:
        with conn.begin_nested():
            return match_changes(conn, since, models)
    except RefitDue:
        return None


def _stored_report(conn: Connection, matched: bool = True, delta: Delta | None = None):
    # Counted per cluster, then summed: one pass that hashes, where a window sorts.
    row = conn.execute(
        text(
            "SELECT CAST(COALESCE(sum(n), 0) AS bigint), CAST(COALESCE(sum(contacts), 0) "
            "AS bigint), CAST(COALESCE(sum(accounts), 0) AS bigint), "
            "CAST(COALESCE(sum(n) FILTER (WHERE n > 1), 0) AS bigint) FROM (SELECT "
            "count(*) AS n, count(contact_sfid) AS contacts, count(account_sfid) AS accounts "
            "FROM resolve.lead_match GROUP BY cluster_org, cluster_sfid) c"
        )
    ).one()
    if delta is None:
        return LeadReport(*row, matched=matched)
    return LeadReport(
        *row, incremental=True, compared=delta.compared, relinked=len(delta.relinked_ids)
    )


def _match_all(conn: Connection) -> LeadReport:
    """Match every live lead afresh; store what an incremental run starts from."""
    leads = store.read_records(conn, "lead")
    contacts = store.read_records(conn, "contact")
    accounts = store.read_records(conn, "account")
    stored = _models(conn)
    links = link_leads(
        leads, contacts, accounts, models=stored, refit_change=REFIT_CHANGE, spread=forked
    )
    for name, params in links.models.items():
        if params is not None and params is not stored[name]:
            save_parameters(conn, f"lead_{name}", params)
    rows = store.match_rows(
        leads,
        contacts,
        accounts,
        links.cluster,
        links.contact,
        links.contact_weight,
        links.account,
        links.account_weight,
    )
    store.write_matches(conn, rows)
    ids = {
        "lead": leads["record_id"].to_numpy(dtype=np.int64),
        "contact": contacts["record_id"].to_numpy(dtype=np.int64),
        "account": accounts["record_id"].to_numpy(dtype=np.int64),
    }
    conn.exec_driver_sql("TRUNCATE resolve.lead_match_pair")
    store.write_pairs(conn, _pairs(links, ids))
    _save_keys(conn, links, ids)
    resolution_state.save_state(
        conn,
        _MODEL_STATE,
        resolution_state.ResolveState(0, _model_fingerprint(_models(conn))),
    )
    sizes = pd.Series(links.cluster).map(pd.Series(links.cluster).value_counts())
    return LeadReport(
        leads=len(leads),
        with_contact=int((links.contact >= 0).sum()),
        with_account=int((links.account >= 0).sum()),
        in_shared_clusters=int((sizes > 1).sum()),
        compared=len(leads),
        relinked=len(leads),
    )


def _pairs(links: LeadLinks, ids: dict[str, np.ndarray]) -> Pairs:
    """The matching pairs by record id."""
    n = len(ids["lead"])
    person = links.person
    to_lead = person.right < n
    return Pairs.concat(
        [
            Pairs.between(
                "lead",
                ids["lead"][person.left[to_lead]],
                ids["lead"][person.right[to_lead]],
                person.weight[to_lead],
            ),
            Pairs.between(
                "contact",
                ids["lead"][person.left[~to_lead]],
                ids["contact"][person.right[~to_lead] - n],
                person.weight[~to_lead],
            ),
            Pairs.between(
                "account",
                ids["lead"][links.company.left],
                ids["account"][links.company.right],
                links.company.weight,
            ),
        ]
    )


def _save_keys(conn: Connection, links: LeadLinks, ids: dict[str, np.ndarray]) -> None:
    """Every record's keys, and each model's term frequencies the pairs were scored
    with."""
    unknown = ids["lead"][links.contact < 0]
    for side, side_ids in (
        (LEAD_PERSON, ids["lead"]),
        (CONTACT_PERSON, ids["contact"]),
        (LEAD_COMPANY, unknown),
        (ACCOUNT_COMPANY, ids["account"]),
    ):
        keys = store.stored_form(links.keyed[side.name], side)
        store.save_keys(conn, side, side_ids, keys)
    for model, sides, settings in (
        ("person", (LEAD_PERSON, CONTACT_PERSON), PERSON_SETTINGS),
        ("company", (LEAD_COMPANY, ACCOUNT_COMPANY), COMPANY_SETTINGS),
    ):
        keys = np.concatenate([links.keyed[side.name].keys for side in sides])
        store.save_frequencies(conn, model, frequency_shares(keys, settings))


class LeadComputer:
    """A lead's cluster, golden contact and golden account, from what it matched."""

    reads = (("unified", "contact"), ("unified", "account"))

    def prepare(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, full: bool
    ) -> InsertTime:
        matching = match_leads(conn, again=full)
        contact_account = ident(conn, CATALOGUE["contact"].link_to("account"))
        converted_contact = "COALESCE(cvc.golden_id, xc.golden_id)"
        insert = InsertTime(
            joins=[
                "LEFT JOIN resolve.lead_match m ON m.org = u.org AND m.sfid = u.sfid",
                "LEFT JOIN golden_next.xref xl ON xl.object = 'lead' "
                "AND xl.org = m.cluster_org AND xl.sfid = m.cluster_sfid",
                "LEFT JOIN golden_next.xref xc ON xc.object = 'contact' "
                "AND xc.org = m.contact_org AND xc.sfid = m.contact_sfid",
                "LEFT JOIN golden_next.xref xa ON xa.object = 'account' "
                "AND xa.org = m.account_org AND xa.sfid = m.account_sfid",
                # What a converted lead became, in its own org.
                "LEFT JOIN golden_next.xref cvc ON cvc.object = 'contact' "
                "AND cvc.org = u.org AND cvc.sfid = u.converted_contact_sfid",
                "LEFT JOIN golden_next.xref cva ON cva.object = 'account' "
                "AND cva.org = u.org AND cva.sfid = u.converted_account_sfid",
                f"LEFT JOIN golden_next.contact gc ON gc.golden_id = {converted_contact}",
            ],
            values={
                "lead_cluster_id": "COALESCE(xl.golden_id, x.golden_id)",
                "golden_contact_id": converted_contact,
                "golden_account_id": f"COALESCE(cva.golden_id, gc.{contact_account}, xa.golden_id)",
                "match_weight": "CASE WHEN cvc.golden_id IS NULL "
                "THEN COALESCE(m.contact_weight, m.account_weight) END",
            },
            found=matching.report,
        )
        if not full:
            _mark_moved(conn, spec, insert, matching.moved)
        return insert

    def report(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, prepared: InsertTime
    ) -> LeadReport:
        return prepared.found


def _mark_moved(
    conn: Connection, spec: ObjectSpec, insert: InsertTime, moved: np.ndarray | None
) -> None:
    """Mark for rebuilding the golden leads that nothing changed in but whose match did
    (a customer that appeared, merged or left): their computed values move. Only those
    that can have moved are compared (`lead_match_suspects`: `moved`, the leads whose
    match row the matching changed, by record id), or every one (None: all were
    matched afresh)."""
    differs = " OR ".join(
        f"g.{ident(conn, column)} IS DISTINCT FROM {value}"
        for column, value in insert.values.items()
    )
    suspects = ""
    if moved is not None:
        # Gathered first, and counted: the planner then looks a few thousand leads up
        # rather than hash every lead to find them.
        conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.lead_suspects")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE lead_suspects ON COMMIT DROP AS {query('lead_match_suspects')}",
            {"moved": [int(i) for i in moved]},
        )
        conn.exec_driver_sql("ANALYZE lead_suspects")
        suspects = "JOIN lead_suspects s ON s.golden_id = g.golden_id "
    conn.exec_driver_sql(
        "INSERT INTO golden_next.changed (object, golden_id) "
        f"SELECT '{spec.name}', g.golden_id FROM golden_next.{spec.name} g {suspects}"
        f"JOIN golden_next.xref x ON x.object = '{spec.name}' AND x.golden_id = g.golden_id "
        f"JOIN unified.{spec.name} u ON u.org = x.org AND u.sfid = x.sfid "
        f"{' '.join(insert.joins)} WHERE {differs} ON CONFLICT DO NOTHING",
        dict(insert.params),
    )


LEAD_COMPUTER = LeadComputer()
