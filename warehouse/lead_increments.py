"""Incremental lead matching: after a small change, match again only the leads whose
own records changed or whose candidates did; every other lead keeps its result.

It follows incremental resolution (`warehouse.incremental_resolution`):

- What changed: records whose change sequence is past the last matching's (a contact
  also when its account's is, or when its account is gone) and records that joined or
  left the live ones. Of those, the ones whose keys differ from the stored ones
  (`resolve.lead_match_key`, with a hash of all a model compares): a lead whose status
  alone changed is not matched again.
- Their candidate pairs come from every record's stored keys, with the block limit
  of a full matching; a block that starts or stops generating pairs with this change
  (its size crossed 2 or the limit) has all its members compared again. Their
  matching pairs replace the ones they had in `resolve.lead_match_pair`; the others stand.
- A lead's links are worked out again, by the functions a full matching uses
  (`dedupe.lead_match`), when its pairs changed or those of a lead clustered with it,
  before or after: whole clusters, so that each is named and filled as in full.
- The company model compares the leads that match no person with the accounts: a
  lead that starts or stops matching a person joins or leaves its records like a
  changed one.

Pairs between unchanged records keep the weights they were scored with (the term
frequencies then); a full matching (`org360 run --full`, or a model refitted as the
records grew) scores them all again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from dedupe.blocking import NO_KEY, pairs_with
from dedupe.cluster import components
from dedupe.estimate import with_parameters
from dedupe.lead_match import (
    COMPANY_LINK_WEIGHT,
    COMPANY_SETTINGS,
    PERSON_SETTINGS,
    Matches,
    account_links,
    features_of,
    keyed_together,
    matching_pairs,
    person_links,
    reusable,
)
from dedupe.score import TF_FLOOR, CodedColumns, term_shares
from dedupe.settings import MatchSettings, stored_rules
from warehouse import lead_store as store
from warehouse import resolution_state
from warehouse.incremental_resolution import TermShares
from warehouse.lead_store import (
    ACCOUNT_COMPANY,
    CONTACT_PERSON,
    LEAD_COMPANY,
    LEAD_PERSON,
    Pairs,
    Side,
    StoredKeys,
    among,
    within,
)
from warehouse.match_model import REFIT_CHANGE
from warehouse.parallel import forked
from warehouse.sql import ident, read_int64_column, read_query
from warehouse_sql import query


class RefitDue(Exception):
    """The records grew or shrank past what the stored model serves: a full matching
    fits it afresh."""


@dataclass(frozen=True)
class Delta:
    """What an incremental matching did."""

    compared: int  # leads whose candidate pairs were all scored again
    relinked_ids: np.ndarray  # leads whose links were worked out again
    moved_ids: np.ndarray  # those of them whose links came out otherwise, and leads gone


@dataclass
class Part:
    """One object's records in a model's population, after this run's change: their
    keys (ids ascending), those that changed or joined (`changed`) with their keys
    before where they had any (`old_keys`), and those that left (`removed`)."""

    side: Side
    after: StoredKeys
    changed: np.ndarray
    changed_keys: np.ndarray
    removed: np.ndarray
    old_keys: np.ndarray

    def positions(self, ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.after.ids, ids)


def part_change(
    side: Side,
    before: StoredKeys,
    fresh_ids: np.ndarray,
    fresh_keys: np.ndarray,
    members: np.ndarray,
) -> Part:
    """The change of one object's part of a population: `before` as stored (its keys
    are updated in place), `fresh_*` the records keyed this run that are members now,
    `members` every member now (ids ascending). A member neither stored nor keyed
    this run is a mistake of the caller's."""
    joined = members[~within(members, before.ids)]
    missing = ~within(joined, np.sort(fresh_ids))
    if missing.any():
        raise RuntimeError(f"{side.name}: {int(missing.sum())} records neither stored nor keyed")
    where, found = before.rows(fresh_ids)
    differs = np.ones(len(fresh_ids), dtype=bool)
    differs[found] = (before.keys[where] != fresh_keys[found]).any(axis=1)
    changed, changed_keys = fresh_ids[differs], fresh_keys[differs]
    removed = before.ids[~within(before.ids, members)]
    old_rows, _ = before.rows(np.union1d(changed, removed))
    old_keys = before.keys[old_rows]
    ids, keys = resolution_state.apply_change(
        before.ids, before.keys, changed, changed_keys, removed
    )
    return Part(side, StoredKeys(ids, keys), changed, changed_keys, removed, old_keys)


def _pairing(sizes: np.ndarray, limit: int) -> np.ndarray:
    return (sizes >= 2) & (sizes <= limit)


def flipping_blocks(keys: np.ndarray, old: np.ndarray, new: np.ndarray, limit: int) -> np.ndarray:
    """Positions (rows of `keys`, the blocking keys after the change) of the members of
    blocks that start or stop generating pairs with it (their size crossed 2 or
    `limit`): pairs among their unchanged records appear or vanish with it. `old`,
    `new`: the changed records' keys before (of those that were there) and after (of
    those that are)."""
    found = []
    for rule in range(keys.shape[1]):
        touched = np.unique(np.r_[old[:, rule], new[:, rule]])
        touched = pd.Index(touched[touched != NO_KEY])
        if not len(touched):
            continue
        column = pd.Series(keys[:, rule])
        now = column[column.isin(touched).to_numpy()].value_counts()
        size_now = now.reindex(touched, fill_value=0).to_numpy()
        gained = pd.Series(new[:, rule]).value_counts().reindex(touched, fill_value=0)
        lost = pd.Series(old[:, rule]).value_counts().reindex(touched, fill_value=0)
        size_before = size_now - gained.to_numpy() + lost.to_numpy()
        flips = touched[_pairing(size_before, limit) != _pairing(size_now, limit)]
        if len(flips):
            found.append(np.flatnonzero(column.isin(flips).to_numpy()))
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)


# How far (in bits) a value's term-frequency weight may move from the one its pairs
# were scored with before they are scored again: half the tenth of a bit the results
# keep. The names' frequencies move with every change (the records' number does), and
# a rare name's move is felt: scoring again every lead holding a value that moved
# keeps each weight within reach of what a full matching gives.
FREQUENCY_TOLERANCE = 0.05


def _frequency_columns(settings: MatchSettings) -> dict[str, int]:
    """Each term-frequency column's place among the stored keys (as `TermShares` finds
    it)."""
    places = {rule[0]: index for index, rule in enumerate(stored_rules(settings))}
    return {c.column: places[c.column] for c in settings.comparisons if c.term_frequency}


def frequency_shares(keys: np.ndarray, settings: MatchSettings) -> dict[str, pd.Series]:
    """Per term-frequency column, each value's share of the records (`keys`: all of a
    model's) as scoring weighs it, by value hash."""
    out = {}
    for column, index in _frequency_columns(settings).items():
        values = keys[:, index]
        counts = pd.Series(values[values != NO_KEY]).value_counts(sort=False)
        shares = term_shares(counts.to_numpy(dtype=np.float64), len(keys))
        out[column] = pd.Series(shares, index=counts.index.to_numpy(dtype=np.int64))
    return out


def moved_values(now: pd.Series, then: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The values (hashes) whose weight moved past the tolerance from `then`, the shares
    their pairs were scored with; and the shares to keep: `then`'s, with the moved and
    new values' at their share `now` (their pairs are scored now), gone values dropped."""
    scored = then.reindex(now.index)
    drift = np.abs(np.log2(np.maximum(now, TF_FLOOR)) - np.log2(np.maximum(scored, TF_FLOOR)))
    moved = (drift > FREQUENCY_TOLERANCE).to_numpy()
    return now.index.to_numpy()[moved], scored.where(~moved & scored.notna(), now)


class Features:
    """Records' features by side: those keyed for the change, and any other a pair
    needs, read and keyed when first asked for."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[str, pd.DataFrame] = {}

    def add(self, side: Side, ids: np.ndarray, features: pd.DataFrame) -> None:
        frame = features.assign(record_id=ids).set_index("record_id")
        known = self.known.get(side.name)
        if known is not None:
            frame = pd.concat([known, frame[~frame.index.isin(known.index)]])
        self.known[side.name] = frame

    def of(self, side: Side, ids: np.ndarray) -> pd.DataFrame:
        known = self.known.get(side.name)
        missing = ids if known is None else ids[~np.isin(ids, known.index.to_numpy())]
        if len(missing):
            records = store.read_records(self.conn, side.object, missing)
            read = features_of(side.matcher, records)
            self.add(side, records["record_id"].to_numpy(dtype=np.int64), read)
        return self.known[side.name].loc[ids].reset_index(drop=True)


@dataclass(frozen=True)
class Rescored:
    """The records compared again (ids): their pairs are replaced by `pairs`, the
    matching ones of those scored."""

    leads: np.ndarray
    others: np.ndarray
    pairs: Pairs
    # The term-frequency shares the model's pairs are scored with now.
    frequencies: dict[str, pd.Series]


def _leads_of_moved_values(
    keys: np.ndarray, leads: int, settings: MatchSettings, then: dict[str, pd.Series]
) -> tuple[np.ndarray, dict[str, pd.Series]]:
    """Positions of the leads holding a value whose weight moved (`moved_values`), and
    the shares the pairs are scored with once they are compared again."""
    now = frequency_shares(keys, settings)
    found, kept = [], {}
    for column, index in _frequency_columns(settings).items():
        scored = then.get(column, pd.Series(dtype=np.float64))
        moved, kept[column] = moved_values(now[column], scored)
        found.append(np.flatnonzero(pd.Series(keys[:leads, index]).isin(moved).to_numpy()))
    return np.unique(np.concatenate(found)), kept


def _holding_a_lead(pairs: tuple[np.ndarray, np.ndarray], leads: int):
    left, right = pairs
    holds = left < leads  # leads come first: a pair's left record is a lead if any is
    return left[holds], right[holds]


def _with_their_leads(
    todo: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray],
    leads: Part,
    mates: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """`todo` (positions, leads first) with every lead paired with a contact or an
    account of it, and every lead clustered with those and with its leads (`mates`, by
    id). A lead's matches to customers, and its cluster's, are then all of one scoring:
    two that a full matching weighs equal stay equal, and the first is taken of both.
    (A pair of two leads only joins them, whatever its weight: it needs no company.)"""
    n = len(leads.after.ids)
    left, right = pairs
    to_changed = np.isin(right, todo[todo >= n])
    touched = leads.after.ids[np.unique(np.r_[todo[todo < n], left[to_changed]])]
    ids = mates(touched)
    return np.union1d(todo, leads.positions(ids[within(ids, leads.after.ids)]))


def rescore(
    leads: Part,
    others: Part,
    settings: MatchSettings,
    features: Features,
    frequencies: dict[str, pd.Series],
    mates: Callable[[np.ndarray], np.ndarray],
) -> Rescored:
    """Score again every candidate pair (that holds a lead) of the records that
    changed, of the members of blocks that flipped and of the leads holding a value
    whose frequency moved (`frequencies`: the shares the stored pairs were scored
    with); and every pair of the leads in those pairs and of their clusters (`mates`:
    the leads clustered with leads given, by id)."""
    n = len(leads.after.ids)
    keys = np.concatenate([leads.after.keys, others.after.keys])
    blocking = len(settings.blocking_rules)
    changed = np.r_[leads.positions(leads.changed), n + others.positions(others.changed)]
    old = np.concatenate([leads.old_keys, others.old_keys])[:, :blocking]
    limit = settings.max_block_size
    moved, frequencies = _leads_of_moved_values(keys, n, settings, frequencies)
    todo = np.unique(
        np.r_[
            changed,
            flipping_blocks(keys[:, :blocking], old, keys[changed, :blocking], limit),
            moved,
        ]
    )
    positions = np.arange(len(keys), dtype=np.int64)

    def candidates(of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _holding_a_lead(pairs_with(positions, keys[:, :blocking], of, limit), n)

    left, right = candidates(todo)
    more = np.setdiff1d(_with_their_leads(todo, (left, right), leads, mates), todo)
    todo = np.union1d(todo, more)
    if len(more):
        # Pairs of two records compared again come from both: each is scored once.
        more_left, more_right = candidates(more)
        both = np.unique(np.r_[left, more_left] * len(keys) + np.r_[right, more_right])
        left, right = both // len(keys), both % len(keys)
    needed = np.unique(np.r_[left, right])
    in_leads = needed < n
    frame = pd.concat(
        [
            features.of(leads.side, leads.after.ids[needed[in_leads]]),
            features.of(others.side, others.after.ids[needed[~in_leads] - n]),
        ],
        ignore_index=True,
    )
    # Term frequencies over every record of the model, as a full matching counts them.
    coded = CodedColumns(frame, population=TermShares(settings, keys))
    rows = np.searchsorted(needed, left), np.searchsorted(needed, right)
    found = matching_pairs(frame, rows[0], rows[1], settings, coded, forked)
    found_left, found_right = needed[found.left], needed[found.right]
    to_lead = found_right < n
    pairs = Pairs.concat(
        [
            Pairs.between(
                "lead",
                leads.after.ids[found_left[to_lead]],
                leads.after.ids[found_right[to_lead]],
                found.weight[to_lead],
            ),
            Pairs.between(
                others.side.object,
                leads.after.ids[found_left[~to_lead]],
                others.after.ids[found_right[~to_lead] - n],
                found.weight[~to_lead],
            ),
        ]
    )
    return Rescored(
        leads.after.ids[todo[todo < n]],
        others.after.ids[todo[todo >= n] - n],
        pairs,
        frequencies,
    )


def clusters_of(universe: np.ndarray, left: np.ndarray, right: np.ndarray, seeds: np.ndarray):
    """Every lead (of `universe`, ids ascending) in a cluster of matching leads
    (`left`-`right` pairs by id) that holds one of `seeds`."""
    index = components(
        len(universe), np.searchsorted(universe, left), np.searchsorted(universe, right)
    )
    seeds = seeds[within(seeds, universe)]
    seeded = np.isin(index, index[np.searchsorted(universe, seeds)])
    return universe[seeded]


@dataclass(frozen=True)
class Links:
    """Some leads' links, worked out from their stored pairs: the leads (record_id, org,
    sfid, in (org, sfid) order), the records positions refer to, and the links."""

    leads: pd.DataFrame
    contact_ids: np.ndarray
    account_ids: np.ndarray
    labels: np.ndarray
    contact: np.ndarray
    contact_weight: np.ndarray
    account: np.ndarray
    account_weight: np.ndarray


def links_of(conn: Connection, lead_ids: np.ndarray) -> Links:
    """The links of leads `lead_ids` (whole clusters) from their stored pairs."""
    leads = store.read_records(conn, "lead", lead_ids)[["record_id", "org", "sfid"]]
    ids = leads["record_id"].to_numpy(dtype=np.int64)
    order = np.argsort(ids)
    position = pd.Series(order, index=ids[order])
    pairs = store.pairs_of(conn, ids)
    n = len(ids)

    mates = pairs.of("lead")
    outside = ~np.isin(mates.other_id, ids)
    if outside.any():
        raise RuntimeError(f"{int(outside.sum())} lead pairs leave the leads linked")
    mate_left = position[mates.lead].to_numpy()
    mate_right = position[mates.other_id].to_numpy()
    once = mate_left < mate_right
    people = pairs.of("contact")
    contact_ids = np.unique(people.other_id)
    person = Matches(
        np.r_[mate_left[once], position[people.lead].to_numpy()],
        np.r_[mate_right[once], n + np.searchsorted(contact_ids, people.other_id)],
        np.r_[mates.weight[once], people.weight],
    )
    labels, contact, contact_weight = person_links(n, person)

    companies = pairs.of("account")
    account_ids = np.unique(companies.other_id)
    company = Matches(
        position[companies.lead].to_numpy(),
        np.searchsorted(account_ids, companies.other_id),
        companies.weight,
    )
    account, account_weight = account_links(labels, company)
    return Links(
        leads, contact_ids, account_ids, labels, contact, contact_weight, account, account_weight
    )


def _names(conn: Connection, obj: str, ids: np.ndarray) -> pd.DataFrame:
    """(org, sfid) of records of `obj` by record id, in the order of `ids` (ascending)."""
    frame = read_query(
        conn,
        f"SELECT record_id, org, sfid FROM {ident(conn, 'unified', obj)} "
        "WHERE record_id = ANY(CAST(%(ids)s AS bigint[])) ORDER BY record_id",
        {"ids": [int(i) for i in ids]},
        text=("org", "sfid"),
    )
    if not np.array_equal(frame["record_id"].to_numpy(dtype=np.int64), ids):
        raise RuntimeError(f"unified.{obj}: records matched by leads are gone")
    return frame


def match_rows(conn: Connection, links: Links) -> pd.DataFrame:
    return store.match_rows(
        links.leads,
        _names(conn, "contact", links.contact_ids),
        _names(conn, "account", links.account_ids),
        links.labels,
        links.contact,
        links.contact_weight,
        links.account,
        links.account_weight,
    )


def _candidates(conn: Connection, obj: str, since: int, live: np.ndarray, stored: np.ndarray):
    """Live records of `obj` that may have changed for lead matching: their change
    sequence is past `since`, or the last matching did not have them."""
    touched = conn.execute(
        text(query("changed_records", unified=ident(conn, "unified", obj))), {"since": since}
    ).scalars()
    touched = np.asarray(list(touched), dtype=np.int64)
    return np.union1d(touched[within(touched, live)], live[~within(live, stored)])


def _contacts_through_accounts(conn: Connection, since: int, stored: StoredKeys) -> np.ndarray:
    """Contacts whose company may have changed with their account: it changed since
    `since`, or is gone while they still had its name."""
    of_changed = read_int64_column(conn, query("lead_match_contacts_of_accounts"), {"since": since})
    without = read_int64_column(conn, query("lead_match_contacts_without_account"))
    rows, found = stored.rows(without)
    company = stored.keys[rows, CONTACT_PERSON.column(("key_company",))]
    # Those without a company last time too have not changed by it.
    return np.union1d(of_changed, without[found][company != NO_KEY])


def _keyed_part(
    side: Side,
    other_side: Side,
    records: tuple[pd.DataFrame, pd.DataFrame],
    stored: tuple[StoredKeys, StoredKeys],
    members: tuple[np.ndarray, np.ndarray],
    features: Features,
) -> tuple[Part, Part]:
    """The two parts of one model's population (the leads, and the contacts or the
    accounts), from the records read for the change."""
    fresh = keyed_together(side.matcher, side.settings, list(records))
    parts = []
    for part_side, frame, keys, before, now in zip(
        (side, other_side), records, fresh, stored, members, strict=True
    ):
        ids = frame["record_id"].to_numpy(dtype=np.int64)
        features.add(part_side, ids, keys.features)
        parts.append(part_change(part_side, before, ids, store.stored_form(keys, part_side), now))
    return parts[0], parts[1]


def _replace_pairs(
    conn: Connection, others: tuple[str, ...], rescored: Rescored, gone: dict[str, np.ndarray]
) -> np.ndarray:
    """Replace the pairs of the records compared again and of those gone (`gone`: ids
    by object) by the matching pairs just scored; return the leads whose pairs
    changed."""
    leads = np.union1d(rescored.leads, gone["lead"])
    other = others[-1]
    records = {"lead": leads} if "lead" in others else {}
    records[other] = np.union1d(rescored.others, gone[other])
    deleted = store.delete_pairs(conn, others, leads, records)
    pairs = rescored.pairs
    store.write_pairs(conn, pairs)
    return np.unique(np.r_[deleted, pairs.lead, pairs.other_id[pairs.other == "lead"]])


def _person_settings(models: dict[str, dict | None]) -> MatchSettings:
    return with_parameters(PERSON_SETTINGS, models["person"])


def _company_settings(models: dict[str, dict | None]) -> MatchSettings:
    settings = COMPANY_SETTINGS
    if models["company"] is not None:
        settings = with_parameters(settings, models["company"])
    return dataclasses.replace(settings, match_weight=COMPANY_LINK_WEIGHT)


@dataclass(frozen=True)
class PersonStep:
    """What the person model's part of an incremental matching leaves the rest: its
    records' change, the clusters of leads (every lead's id, and the matching pairs of
    two leads before and after), the leads whose links it moved, and those that match
    no person among them."""

    leads: Part
    contacts: Part
    rescored: Rescored
    universe: np.ndarray
    edges: tuple[np.ndarray, np.ndarray]
    relinked: np.ndarray
    unknown: np.ndarray
    lead_ids: np.ndarray  # the leads read for the change


def _person_step(
    conn: Connection, since: int, live: dict[str, np.ndarray], models: dict, features: Features
) -> PersonStep:
    """Score again the person model's pairs the change concerns, and work out the
    links of the leads whose pairs or clusters moved."""
    stored = (store.load_keys(conn, LEAD_PERSON), store.load_keys(conn, CONTACT_PERSON))
    lead_ids = _candidates(conn, "lead", since, live["lead"], stored[0].ids)
    contact_ids = np.union1d(
        _candidates(conn, "contact", since, live["contact"], stored[1].ids),
        among(_contacts_through_accounts(conn, since, stored[1]), live["contact"]),
    )
    leads, contacts = _keyed_part(
        LEAD_PERSON,
        CONTACT_PERSON,
        (
            store.read_records(conn, "lead", lead_ids),
            store.read_records(conn, "contact", contact_ids),
        ),
        stored,
        (live["lead"], live["contact"]),
        features,
    )
    universe = np.union1d(live["lead"], leads.removed)
    edges_before = store.lead_edges(conn)
    rescored = rescore(
        leads,
        contacts,
        _person_settings(models),
        features,
        store.load_frequencies(conn, "person"),
        lambda ids: clusters_of(universe, *edges_before, ids),
    )
    gone = {"lead": leads.removed, "contact": contacts.removed}
    moved = _replace_pairs(conn, ("lead", "contact"), rescored, gone)
    edges = store.lead_edges(conn)
    # Whole clusters, as they were and as they are: a lead whose cluster lost or gained a
    # lead is named and filled again.
    seeds = np.unique(np.r_[moved, rescored.leads, leads.removed])
    before = clusters_of(universe, *edges_before, seeds)
    relinked = among(clusters_of(universe, *edges, before), live["lead"])
    found = links_of(conn, relinked)
    ids = found.leads["record_id"].to_numpy(dtype=np.int64)
    return PersonStep(
        leads, contacts, rescored, universe, edges, relinked, ids[found.contact < 0], lead_ids
    )


def _company_step(
    conn: Connection,
    since: int,
    live: dict[str, np.ndarray],
    models: dict,
    features: Features,
    person: PersonStep,
) -> tuple[Part, Part, Rescored, np.ndarray]:
    """Score again the company model's pairs the change concerns (its leads are those
    that match no person now); return its records' change, what it scored and the
    leads whose links it moved."""
    stored = (store.load_keys(conn, LEAD_COMPANY), store.load_keys(conn, ACCOUNT_COMPANY))
    still = stored[0].ids[within(stored[0].ids, live["lead"])]
    still = still[~within(still, person.relinked)]
    members = np.union1d(still, person.unknown)
    if len(members) and not reusable(
        models["company"], len(members) + len(live["account"]), REFIT_CHANGE
    ):
        raise RefitDue("company")
    joining = members[~within(members, stored[0].ids)]
    rekeyed = np.union1d(joining, among(person.lead_ids, members))
    account_ids = _candidates(conn, "account", since, live["account"], stored[1].ids)
    leads, accounts = _keyed_part(
        LEAD_COMPANY,
        ACCOUNT_COMPANY,
        (
            store.read_records(conn, "lead", rekeyed),
            store.read_records(conn, "account", account_ids),
        ),
        stored,
        (members, live["account"]),
        features,
    )
    rescored = rescore(
        leads,
        accounts,
        _company_settings(models),
        features,
        store.load_frequencies(conn, "company"),
        lambda ids: clusters_of(person.universe, *person.edges, ids),
    )
    # Pairs of two leads are the person model's to find.
    rescored = dataclasses.replace(rescored, pairs=rescored.pairs.of("account"))
    gone = {"lead": leads.removed, "account": accounts.removed}
    moved = _replace_pairs(conn, ("account",), rescored, gone)
    seeds = among(np.r_[moved, rescored.leads], live["lead"])
    relinked = clusters_of(person.universe, *person.edges, seeds)
    return leads, accounts, rescored, among(relinked, live["lead"])


def match_changes(conn: Connection, since: int, models: dict[str, dict | None]) -> Delta:
    """Match again the leads that the changes since change `since` concern, with the
    stored `models`; raises RefitDue when a full matching would fit one afresh."""
    live = {obj: store.live_ids(conn, obj) for obj in ("lead", "contact", "account")}
    if not reusable(models["person"], len(live["lead"]) + len(live["contact"]), REFIT_CHANGE):
        raise RefitDue("person")
    features = Features(conn)
    person = _person_step(conn, since, live, models, features)
    leads, accounts, company, moved = _company_step(conn, since, live, models, features, person)
    relinked = np.union1d(person.relinked, moved)
    found = links_of(conn, relinked)
    moved_ids = store.replace_matches(
        conn, match_rows(conn, found), np.union1d(relinked, person.leads.removed)
    )
    store.save_frequencies(conn, "person", person.rescored.frequencies)
    store.save_frequencies(conn, "company", company.frequencies)
    for part in (person.leads, person.contacts, leads, accounts):
        store.save_key_change(
            conn, part.side, part.changed, part.changed_keys, part.removed, part.after
        )
    return Delta(
        compared=len(np.union1d(person.rescored.leads, company.leads)),
        relinked_ids=relinked,
        moved_ids=moved_ids,
    )
