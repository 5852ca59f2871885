"""Source records org360 cannot resolve are quarantined, published in
golden.rejected_record, and released once fixed; the publication goes on."""

from __future__ import annotations

from sqlalchemy import text

from app.cli import main
from pipelines.runner import run_all
from tests.helpers.hostile import FIELDS, create_loose_table, insert_rows, live_keys
from tests.helpers.orgs import write_config

ORGS = [
    {"key": "north", "schema": "sf_north", "fields": FIELDS},
    {"key": "south", "schema": "sf_south", "fields": FIELDS},
]


def _sfid(prefix: str, n: int) -> str:
    return f"{prefix}5g000{n:07d}AAA"


def _account(n: int, name: str | None, **values) -> dict:
    return {"sfid": _sfid("001", n), "name": name, "billingcity": "Lyon", **values}


def _contact(n: int, first: str | None, last: str | None, **values) -> dict:
    return {"sfid": _sfid("003", n), "firstname": first, "lastname": last, **values}


def _seed(engine) -> None:
    with engine.begin() as conn:
        for org in ORGS:
            for obj in ("account", "contact"):
                create_loose_table(conn, org["schema"], obj)
        insert_rows(
            conn,
            "sf_north",
            "account",
            [
                _account(1, "Acme SARL", website="acme.example"),
                _account(2, "  ---  "),  # nothing to recognise it by
                _account(3, "...", registration__c="FR 552 100 554"),  # a number will do
                _account(4, "Twice Ltd"),
                _account(4, "Twice Limited"),  # the same sfid again
                {"sfid": "not-an-id", "name": "Nowhere Inc"},
                {"sfid": None, "name": "Not yet in Salesforce"},
            ],
        )
        insert_rows(
            conn,
            "sf_north",
            "contact",
            [
                _contact(1, "Ada", "Lovelace", email="ada@acme.example", accountid=_sfid("001", 1)),
                _contact(2, None, None, email="grace@acme.example"),  # recognisable
                _contact(3, "...", None, title="Ghost"),  # not
                _contact(4, None, " ", birthdate="1970-01-01", mailingstreet="1 Rue X"),
            ],
        )
        insert_rows(
            conn,
            "sf_south",
            "contact",
            [_contact(11, "Ada", "Lovelace", email="ada@acme.example")],
        )


def _published_keys(engine, table: str) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        return set(conn.execute(text(f"SELECT object, org, sfid FROM golden.{table}")).all())


def _rejections(engine) -> dict[tuple[str, str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT object, org, sfid, reason FROM golden.rejected_record")
        ).all()
    return {(o, g, s): r for o, g, s, r in rows}


def _every_live_record_once(engine) -> None:
    with engine.connect() as conn:
        live = set()
        for org in ORGS:
            for obj in ("account", "contact"):
                live |= live_keys(conn, org["schema"], obj, org["key"])
    xref, rejected = _published_keys(engine, "xref"), _published_keys(engine, "rejected_record")
    assert not xref & rejected
    assert xref | rejected == live


def test_unresolvable_records_are_quarantined_and_released_when_fixed(
    database_url, engine, tmp_path, capsys
):
    _seed(engine)
    config = write_config(tmp_path / "org360.yaml", database_url, ORGS)
    assert main(["run", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "4 source records quarantined" in err

    assert _rejections(engine) == {
        ("account", "north", _sfid("001", 2)): "no_name",
        ("account", "north", _sfid("001", 4)): "duplicate_sfid",
        ("account", "north", "not-an-id"): "invalid_sfid",
        ("contact", "north", _sfid("003", 3)): "no_name",
    }
    _every_live_record_once(engine)
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                text(
                    "SELECT x.sfid, g.name FROM golden.xref x JOIN golden.contact g "
                    "USING (golden_id) WHERE x.object = 'contact'"
                )
            ).all()
        )
        stand_in = conn.execute(
            text(
                "SELECT g.name FROM golden.xref x JOIN golden.account g USING (golden_id) "
                "WHERE x.sfid = :sfid"
            ),
            {"sfid": _sfid("001", 3)},
        ).scalar_one()
    # Ada is one person across both orgs; Grace is shown by her e-mail.
    assert names[_sfid("003", 1)] == names[_sfid("003", 11)] == "Ada Lovelace"
    assert names[_sfid("003", 2)] == "grace@acme.example"
    assert names[_sfid("003", 4)] == f"north/{_sfid('003', 4)}"
    assert stand_in == "FR 552 100 554"

    # The steward's list says what to fix, by org and reason.
    assert main(["review", "rejected", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "org north, account, duplicate_sfid: 1 records" in listing
    assert "fix: keep one row per record" in listing
    assert f"north/{_sfid('003', 3)}  first name '...', last name empty" in listing
    assert (
        main(["review", "rejected", "--reason", "no_name", "--limit", "1", "--config", str(config)])
        == 0
    )
    listing = capsys.readouterr().out
    assert "2 source records quarantined" in listing and "duplicate_sfid" not in listing
    assert listing.count("  north/") == 2  # the account and the contact without a name

    # Fixed in the source: the extra row removed (the one left is not modified again),
    # the names entered, the id corrected. The next run releases every one.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM sf_north.account WHERE id = "
            f"(SELECT max(id) FROM sf_north.account WHERE sfid = '{_sfid('001', 4)}')"
        )
        conn.exec_driver_sql(
            "UPDATE sf_north.account SET name = 'Dash Co', systemmodstamp = now() "
            f"WHERE sfid = '{_sfid('001', 2)}'"
        )
        conn.exec_driver_sql(
            f"UPDATE sf_north.account SET sfid = '{_sfid('001', 5)}', systemmodstamp = now() "
            "WHERE sfid = 'not-an-id'"
        )
        conn.exec_driver_sql(
            "UPDATE sf_north.contact SET lastname = 'Hopper', systemmodstamp = now() "
            f"WHERE sfid = '{_sfid('003', 3)}'"
        )
    run_all(config)
    assert _rejections(engine) == {}
    _every_live_record_once(engine)
    assert main(["review", "rejected", "--config", str(config)]) == 0
    assert "no quarantined records" in capsys.readouterr().out


def test_a_published_record_that_loses_its_name_leaves_its_golden_record(
    database_url, engine, tmp_path
):
    _seed(engine)
    config = write_config(tmp_path / "org360.yaml", database_url, ORGS)
    run_all(config)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE sf_south.contact SET firstname = NULL, lastname = '!!', email = NULL, "
            f"systemmodstamp = now() WHERE sfid = '{_sfid('003', 11)}'"
        )
    run_all(config)  # incremental
    assert _rejections(engine)[("contact", "south", _sfid("003", 11))] == "no_name"
    _every_live_record_once(engine)
    with engine.connect() as conn:
        members, orgs = conn.execute(
            text(
                "SELECT g.member_count, g.orgs FROM golden.xref x "
                "JOIN golden.contact g USING (golden_id) WHERE x.sfid = :sfid"
            ),
            {"sfid": _sfid("003", 1)},
        ).one()
    assert (members, orgs) == (1, "north")
