"""The pure parts of incremental lead matching: which blocks start or stop generating
pairs with a change, which values' frequencies moved, links worked out on part of the
leads as on all of them, and which leads' match rows moved."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.lead_match import Matches, account_links, person_links
from warehouse.lead_increments import FREQUENCY_TOLERANCE, flipping_blocks, moved_values
from warehouse.lead_store import rows_moved


def test_blocks_that_cross_a_limit_have_all_their_members_compared_again():
    # One rule; blocks: 7 (three members), 8 (two), 9 (five), 10 (one).
    after = np.array([[7], [7], [7], [7], [8], [9], [9], [9], [9], [9], [9], [10]])
    old = np.array([[10], [8]])  # before: one record was in 10, the other in 8
    new = np.array([[7], [9]])  # now: in 7 (3 -> 4 members) and 9 (5 -> 6)
    found = flipping_blocks(after, old, new, limit=4)
    # 7 kept generating pairs (3 and 4 members, the limit 4); 9 was too large before and
    # after; 8 went from two members to one, 10 from two to one: their members now.
    assert found.tolist() == [4, 11]
    assert flipping_blocks(after, old, new, limit=3).tolist() == [0, 1, 2, 3, 4, 11]


def test_no_key_is_no_block():
    after = np.array([[0], [0], [5]])
    assert flipping_blocks(after, np.array([[0]]), np.array([[0]]), limit=4).size == 0


def test_values_whose_weight_moved_are_scored_again_and_remembered_at_their_new_share():
    then = pd.Series([0.01, 0.5, 0.2], index=[1, 2, 3])
    step = 2 ** (FREQUENCY_TOLERANCE / 2)
    now = pd.Series([0.01 * step, 0.5 * 2, 0.1], index=[1, 2, 4])
    moved, kept = moved_values(now, then)
    assert moved.tolist() == [2]
    # Value 1 keeps the share its pairs were scored with; 2 and the new 4 take theirs
    # now; 3 is gone.
    assert kept.to_dict() == {1: 0.01, 2: 1.0, 4: 0.1}


def test_links_of_whole_clusters_are_the_links_of_all_leads():
    # Leads 0-5; contacts 0-3, two of them (1, 2) equally strong matches of lead 0.
    leads = 6
    person = Matches(
        np.array([0, 0, 1, 3, 0, 4]),
        np.array([leads + 2, leads + 1, 2, 4, 1, leads + 3]),
        np.array([9.0, 9.0, 5.0, 6.0, 7.0, 8.0]),
    )
    company = Matches(np.array([2, 5, 5]), np.array([1, 0, 2]), np.array([1.0, -2.0, -2.0]))
    labels, contact, contact_weight = person_links(leads, person)
    account, account_weight = account_links(labels, company)
    assert labels.tolist() == [0, 0, 0, 3, 3, 5]
    assert contact.tolist() == [1, 1, 1, 3, 3, -1]  # the first of two equal ones
    assert account.tolist() == [1, 1, 1, -1, -1, 0]
    # The cluster of leads 3 and 4 alone (positions renumbered in the same order).
    part = Matches(np.array([0, 1]), np.array([1, 2 + 3]), np.array([6.0, 8.0]))
    part_labels, part_contact, part_weight = person_links(2, part)
    assert part_labels.tolist() == [0, 0]
    assert part_contact.tolist() == [3, 3] and part_weight.tolist() == contact_weight[3:5].tolist()
    assert np.isnan(account_weight[3:5]).all()


def test_a_lead_matched_again_to_what_it_had_has_not_moved():
    before = pd.DataFrame(
        {
            "record_id": [1, 2, 3, 4, 6],
            "contact_sfid": ["c1", None, None, "c4", "c6"],
            "contact_weight": [12.5, None, None, 9.0, 7.1],
        }
    )
    after = pd.DataFrame(
        {
            # 1 as it was; 2 and 3 still without a contact (nulls as the matching writes
            # them); 4 to another contact; 5 new; 6 at another weight; 7 never there.
            "record_id": [1, 2, 3, 4, 5, 6],
            "contact_sfid": ["c1", None, None, "c9", "c5", "c6"],
            "contact_weight": [12.5, np.nan, np.nan, 9.0, 3.0, 7.2],
        }
    )
    gone = pd.DataFrame({"record_id": [8], "contact_sfid": ["c8"], "contact_weight": [1.0]})
    moved = rows_moved(pd.concat([before, gone], ignore_index=True), after)
    assert moved.tolist() == [4, 5, 6, 8]
