"""Which customer each lead already is, in any org (`dedupe.lead_match`), and which
leads are one person: the golden lead's computed columns.

Every live lead is compared with the live contacts and accounts of every org and
with the other leads; what it matched is kept as source records in
`resolve.lead_match`, and the golden lead takes their golden ids from this
publication's xref, so a merge of customers is followed without matching again. A
converted lead is the contact and account it was converted to, whatever it matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from core.catalogue import CATALOGUE, ObjectSpec
from core.settings import Settings
from dedupe.lead_match import LeadLinks, company_domains, link_leads
from warehouse import resolution_state
from warehouse.insert_time import InsertTime
from warehouse.match_model import REFIT_CHANGE, load_parameters, save_parameters
from warehouse.sql import copy_frame, ident, read_query

_PEOPLE = ("first_name", "last_name", "email", "mobile_phone", "phone")
_TEXT = ("org", "sfid", *_PEOPLE, "company", "website", "domain")

# The live records each side of the matching, as this publication has them.
_LEADS = (
    "SELECT u.org, u.sfid, u.first_name, u.last_name, u.email, u.mobile_phone, u.phone, "
    "u.company, u.website FROM golden_next.xref x JOIN unified.lead u "
    "ON u.org = x.org AND u.sfid = x.sfid WHERE x.object = 'lead' ORDER BY u.org, u.sfid"
)
_CONTACTS = (
    "SELECT c.org, c.sfid, c.first_name, c.last_name, c.email, c.mobile_phone, c.phone, "
    "a.name AS company FROM golden_next.xref x JOIN unified.contact c "
    "ON c.org = x.org AND c.sfid = x.sfid LEFT JOIN unified.account a "
    "ON a.org = c.org AND a.sfid = c.account_sfid WHERE x.object = 'contact'"
)
_ACCOUNTS = (
    "SELECT a.org, a.sfid, a.name AS company, a.domain, a.phone FROM golden_next.xref x "
    "JOIN unified.account a ON a.org = x.org AND a.sfid = x.sfid WHERE x.object = 'account'"
)


@dataclass(frozen=True)
class LeadReport:
    """What the matching found, over every live lead."""

    leads: int
    with_contact: int
    with_account: int
    in_shared_clusters: int
    # False: nothing the matching reads had changed; the last matching's results stand.
    matched: bool = True

    def lines(self) -> list[str]:
        """Warnings for the run's output: a lead matching nothing is no gap."""
        return []

    def metadata(self) -> dict[str, int]:
        return {
            "leads": self.leads,
            "leads_matching_a_contact": self.with_contact,
            "leads_matching_an_account": self.with_account,
            "leads_sharing_a_cluster": self.in_shared_clusters,
            "matched_afresh": int(self.matched),
        }


def _read(conn: Connection, sql: str) -> pd.DataFrame:
    frame = read_query(conn, sql, text=[c for c in _TEXT if c in sql])
    return frame.astype(object).where(frame.notna(), None)


def _matches(leads: pd.DataFrame, contacts: pd.DataFrame, accounts: pd.DataFrame, links: LeadLinks):
    """resolve.lead_match's rows: source records, not positions."""
    out = pd.DataFrame({"org": leads["org"], "sfid": leads["sfid"]})
    rep = leads.iloc[links.cluster]
    out["cluster_org"] = rep["org"].to_numpy()
    out["cluster_sfid"] = rep["sfid"].to_numpy()
    for side, frame, found, weight in (
        ("contact", contacts, links.contact, links.contact_weight),
        ("account", accounts, links.account, links.account_weight),
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


# What the matching reads, in brief: where each side's records last changed and how
# many are live. Equal to the last matching's: nothing to match again.
_SIDES = (
    "SELECT concat_ws('/', (SELECT max(change_seq) FROM unified.lead), "
    "(SELECT max(change_seq) FROM unified.contact), "
    "(SELECT max(change_seq) FROM unified.account), "
    "(SELECT count(*) FROM golden_next.xref WHERE object = 'lead'), "
    "(SELECT count(*) FROM golden_next.xref WHERE object = 'contact'), "
    "(SELECT count(*) FROM golden_next.xref WHERE object = 'account'))"
)
_STATE = "lead_match"


def match_leads(conn: Connection, again: bool = False) -> LeadReport:
    """Match every live lead afresh and rewrite resolve.lead_match, unless no lead,
    contact or account changed since the last matching (and not `again`): then what
    it found stands (the golden ids it leads to are looked up at every build)."""
    sides = conn.execute(text(_SIDES)).scalar_one()
    last = resolution_state.load_state(conn, _STATE)
    if not again and last is not None and last.fingerprint == sides:
        return _stored_report(conn)
    report = _match(conn)
    resolution_state.save_state(conn, _STATE, resolution_state.ResolveState(0, sides))
    return report


def _stored_report(conn: Connection) -> LeadReport:
    row = conn.execute(
        text(
            "SELECT count(*), count(contact_sfid), count(account_sfid), "
            "count(*) FILTER (WHERE cluster_size > 1) FROM (SELECT contact_sfid, "
            "account_sfid, count(*) OVER (PARTITION BY cluster_org, cluster_sfid) "
            "AS cluster_size FROM resolve.lead_match) m"
        )
    ).one()
    return LeadReport(*row, matched=False)


def _match(conn: Connection) -> LeadReport:
    leads = _read(conn, _LEADS)
    contacts = _read(conn, _CONTACTS)
    accounts = _read(conn, _ACCOUNTS)
    leads["domain"] = company_domains(leads["website"], leads["email"])
    stored = {name: load_parameters(conn, f"lead_{name}") for name in ("person", "company")}
    links = link_leads(
        leads,
        contacts,
        accounts,
        models=stored,
        refit_change=REFIT_CHANGE,
    )
    for name, params in links.models.items():
        if params is not None and params is not stored[name]:
            save_parameters(conn, f"lead_{name}", params)
    rows = _matches(leads, contacts, accounts, links)
    conn.exec_driver_sql("TRUNCATE resolve.lead_match")
    copy_frame(conn, "resolve.lead_match", rows, list(rows.columns))
    conn.exec_driver_sql("ANALYZE resolve.lead_match")
    sizes = pd.Series(links.cluster).map(pd.Series(links.cluster).value_counts())
    return LeadReport(
        leads=len(leads),
        with_contact=int((links.contact >= 0).sum()),
        with_account=int((links.account >= 0).sum()),
        in_shared_clusters=int((sizes > 1).sum()),
        matched=True,
    )


class LeadComputer:
    """A lead's cluster, golden contact and golden account, from what it matched."""

    reads = (("unified", "contact"), ("unified", "account"))

    def prepare(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, full: bool
    ) -> InsertTime:
        found = match_leads(conn, again=full)
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
            found=found,
        )
        if not full:
            _mark_moved(conn, spec, insert)
        return insert

    def report(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, prepared: InsertTime
    ) -> LeadReport:
        return prepared.found


def _mark_moved(conn: Connection, spec: ObjectSpec, insert: InsertTime) -> None:
    """Mark for rebuilding the golden leads that nothing changed in but whose match did
    (a customer that appeared, merged or left): their computed values move."""
    differs = " OR ".join(
        f"g.{ident(conn, column)} IS DISTINCT FROM {value}"
        for column, value in insert.values.items()
    )
    conn.exec_driver_sql(
        "INSERT INTO golden_next.changed (object, golden_id) "
        f"SELECT '{spec.name}', g.golden_id FROM golden_next.{spec.name} g "
        f"JOIN golden_next.xref x ON x.object = '{spec.name}' AND x.golden_id = g.golden_id "
        f"JOIN unified.{spec.name} u ON u.org = x.org AND u.sfid = x.sfid "
        f"{' '.join(insert.joins)} WHERE {differs} ON CONFLICT DO NOTHING",
        insert.params,
    )


LEAD_COMPUTER = LeadComputer()
