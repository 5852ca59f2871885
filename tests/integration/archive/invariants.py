"""Checks that no record was lost or duplicated, whatever happened during the jobs."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text


def assert_each_record_in_exactly_one_place(engine, schema: str, obj: str, org: str, sfids) -> None:
    """Each original record is live under its sfid, or archived (not restored), or was
    restored into exactly one live row carrying its External ID — never two of those."""
    expected = set(sfids)
    with engine.connect() as conn:
        live = Counter(
            conn.execute(
                text(f'SELECT sfid FROM "{schema}".{obj} WHERE sfid IS NOT NULL')
            ).scalars()
        )
        restored_rows = Counter(
            conn.execute(
                text(
                    f'SELECT org360_archive_id__c FROM "{schema}".{obj} '
                    "WHERE org360_archive_id__c IS NOT NULL"
                )
            ).scalars()
        )
        archive = conn.execute(
            text(
                f"SELECT sfid, restored_at IS NOT NULL AS restored, restore_external_id "
                f'FROM archive."{org}_{obj}"'
            )
        ).all()
    assert all(n == 1 for n in live.values()), "an sfid is live twice"
    assert all(n == 1 for n in restored_rows.values()), "a record was restored twice"
    archived = {row.sfid for row in archive if not row.restored}
    restored = {row.sfid: row.restore_external_id for row in archive if row.restored}
    places: Counter = Counter()
    for sfid in expected:
        places[sfid] += (sfid in live) + (sfid in archived) + (sfid in restored)
    misplaced = {s: n for s, n in places.items() if n != 1}
    assert not misplaced, f"{len(misplaced)} records in {set(misplaced.values())} places"
    for sfid, external_id in restored.items():
        assert restored_rows[external_id] == 1, f"restored {sfid} has no live row"
    assert len(archive) == len({row.sfid for row in archive})


def assert_connect_got_one_entry_per_move(engine, schema: str, obj: str) -> None:
    """Connect's log holds one DELETE per archived record and one INSERT per restored one."""
    with engine.connect() as conn:
        deletes = Counter(
            conn.execute(
                text(
                    f'SELECT sfid FROM "{schema}"._trigger_log '
                    "WHERE action = 'DELETE' AND table_name = :t"
                ),
                {"t": obj},
            ).scalars()
        )
        inserts = conn.execute(
            text(
                f'SELECT count(*) FROM "{schema}"._trigger_log '
                "WHERE action = 'INSERT' AND table_name = :t"
            ),
            {"t": obj},
        ).scalar_one()
        archived_ever = conn.execute(
            text(f'SELECT count(*) FROM archive."{_org_of(schema)}_{obj}"')
        ).scalar_one()
        restored = conn.execute(
            text(
                f'SELECT count(*) FROM archive."{_org_of(schema)}_{obj}" '
                "WHERE restored_at IS NOT NULL"
            )
        ).scalar_one()
    assert all(n == 1 for n in deletes.values()), "a record was deleted twice"
    assert sum(deletes.values()) == archived_ever
    assert inserts == restored


def _org_of(schema: str) -> str:
    return schema.removesuffix("_sf")
