"""Nothing an org contains can fail a run: generated Heroku Connect rows with hostile
values in every mapped column, rows without or with a broken or repeated sfid,
FAILED rows and nameless records, through the whole pipeline on real PostgreSQL.

Every run publishes; every live source record is in exactly one of golden.xref and
golden.rejected_record; and once the rows are fixed, a second run releases them all.
"""

from __future__ import annotations

import os
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.database import make_engine
from pipelines.runner import run_all
from tests.conftest import _create_database, _drop_database
from tests.helpers.hostile import (
    FIELDS,
    create_loose_table,
    insert_rows,
    live_keys,
    mapped_columns,
)
from tests.helpers.orgs import write_config

ORGS = [
    {"key": "one", "schema": "sf_one", "fields": FIELDS},
    {"key": "two", "schema": "sf_two", "fields": FIELDS},
]
PREFIX = {"account": "001", "contact": "003"}

HOSTILE = [
    "x" * 10_000,
    "\x01\x02\x1b[31mred",
    "\u202eevil\u202c",
    "\u200b",
    "🙂🙃👨‍👩‍👧",
    "مرحبا بالعالم",
    "   ",
    "\t\n\r",
    "0001-01-01",
    "9999-12-31",
    "1980-02-30",
    "-5",
    "1e999",
    "NaN",
    "+++",
    "??",
    "no-at-sign",
    "a@b@c",
    "\\N",
    '"quoted, with comma"',
    "'; DROP TABLE golden.xref; --",
    "GmbH",
    "---",
    "Ada",
    "Lovelace",
    "ada@example.com",
    "+44 7700 900123",
    "France",
]
values = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=30,
    ),
)
# A few valid ids, so records repeat across rows (duplicates) and orgs.
sfids = st.one_of(
    st.integers(0, 6).map(lambda n: f"5g000{n:07d}AAA"),
    st.sampled_from(["", "short", "5g000-000-000-AAA", "x" * 300, "ÄÖÜ5g0000000001A"]),
    st.none(),
)


def _row(obj: str):
    return st.fixed_dictionaries(
        {
            "sfid": sfids,
            "isdeleted": st.sampled_from([None, False, True]),
            "_hc_lastop": st.sampled_from([None, "SYNCED", "FAILED", "INSERT"]),
            **{column: values for column in mapped_columns(obj)},
        }
    ).map(lambda r: {**r, "sfid": _full_sfid(obj, r["sfid"])})


def _full_sfid(obj: str, sfid: str | None) -> str | None:
    # Valid ids get their object's prefix (15 + 3 = 18 characters).
    if sfid is not None and len(sfid) == 15 and sfid.isalnum() and sfid.isascii():
        return PREFIX[obj] + sfid
    return sfid


tables = st.fixed_dictionaries(
    {
        (org["schema"], obj): st.lists(_row(obj), max_size=8)
        for org in ORGS
        for obj in ("account", "contact")
    }
)


def _placement(engine) -> tuple[set, set, set]:
    """Live source keys, published xref keys, published quarantine keys."""
    with engine.connect() as conn:
        live = set()
        for org in ORGS:
            for obj in ("account", "contact"):
                live |= live_keys(conn, org["schema"], obj, org["key"])
        xref = set(conn.execute(text("SELECT object, org, sfid FROM golden.xref")).all())
        rejected = set(
            conn.execute(text("SELECT object, org, sfid FROM golden.rejected_record")).all()
        )
    return live, xref, rejected


def _fix(engine) -> None:
    """What a steward would do in the orgs: one row per record, valid ids, names."""
    with engine.begin() as conn:
        for org in ORGS:
            for obj in ("account", "contact"):
                table = f'"{org["schema"]}"."{obj}"'
                conn.exec_driver_sql(
                    f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {table} o "
                    "WHERE o.sfid = t.sfid AND o.id < t.id)"
                )
                conn.exec_driver_sql(
                    f"UPDATE {table} SET sfid = '{PREFIX[obj]}9z' || lpad(id::text, 13, '0') "
                    "WHERE sfid !~ '^[A-Za-z0-9]{18}$'"
                )
                name = "name = 'Fixed ' || id" if obj == "account" else "lastname = 'Fixed' || id"
                conn.exec_driver_sql(
                    f"UPDATE {table} SET {name}, systemmodstamp = now() AT TIME ZONE 'UTC'"
                )


@settings(
    max_examples=int(os.environ.get("ORG360_HOSTILE_EXAMPLES", "6")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(tables)
def test_nothing_an_org_contains_stops_a_publication(
    pg_admin_url, template_database, tmp_path_factory, tables
):
    name = f"org360_h_{uuid.uuid4().hex[:12]}"
    url = _create_database(pg_admin_url, name, template=template_database)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for (schema, obj), rows in tables.items():
                create_loose_table(conn, schema, obj)
                insert_rows(conn, schema, obj, rows)
        config = write_config(tmp_path_factory.mktemp("hostile") / "org360.yaml", url, ORGS)

        run_all(config)  # raises if any step or blocking check fails
        live, xref, rejected = _placement(engine)
        assert not xref & rejected
        assert xref | rejected == live

        _fix(engine)
        run_all(config)
        live, xref, rejected = _placement(engine)
        assert rejected == set()
        assert xref == live
    finally:
        engine.dispose()
        _drop_database(pg_admin_url, name)
