"""Steward decisions are hard constraints that survive reruns."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from app.cli import main
from demo.heroku_connect import create_connect_table
from pipelines.runner import run_all
from tests.helpers.orgs import write_config

STAMP = dt.datetime(2026, 10, 1, 12, 0)

# (org, sfid, first, last, email, mobile, city)
PEOPLE = [
    # the same person in two orgs: the matcher merges them
    ("amer", "003Am0000000000001", "John", "Smith", "john.smith@acme.com", None, "Boston"),
    ("emea", "003Em0000000000001", "John", "Smith", "john.smith@acme.com", None, "Boston"),
    # probably the same person, too little evidence to merge on its own
    ("amer", "003Am0000000000002", "Maria", "Gonzalez", None, None, "Madrid"),
    ("emea", "003Em0000000000002", "Maria", "Gonzales", None, None, "Sevilla"),
    # a chain: 1~2 by email, 2~3 by mobile
    ("amer", "003Am0000000000003", "Peter", "Parker", "peter@bugle.com", None, "New York"),
    ("emea", "003Em0000000000003", "Peter", "Parker", "peter@bugle.com", "+12125550100", None),
    ("emea", "003Em0000000000004", "Pete", "Parker", None, "+12125550100", "Queens"),
]


@pytest.fixture
def config(database_url, engine, tmp_path):
    with engine.begin() as conn:
        for org in ("amer", "emea"):
            create_connect_table(conn, f"sf_{org}", "contact")
            create_connect_table(conn, f"sf_{org}", "account")
        for org, sfid, first, last, email, mobile, city in PEOPLE:
            conn.execute(
                text(
                    f"INSERT INTO sf_{org}.contact (sfid, firstname, lastname, email, "
                    "mobilephone, mailingcity, systemmodstamp, isdeleted, _hc_lastop) "
                    "VALUES (:sfid, :first, :last, :email, :mobile, :city, :stamp, false, "
                    "'SYNCED')"
                ),
                dict(
                    sfid=sfid,
                    first=first,
                    last=last,
                    email=email,
                    mobile=mobile,
                    city=city,
                    stamp=STAMP,
                ),
            )
    orgs = [{"key": "amer", "schema": "sf_amer"}, {"key": "emea", "schema": "sf_emea"}]
    return write_config(tmp_path / "org360.yaml", database_url, orgs)


def _golden(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT org || '/' || sfid, golden_id FROM golden.xref WHERE object = 'contact'")
        ).all()
    return dict(rows)


def _decide(config, decision, a, b, capsys):
    code = main(
        [
            "review",
            "decide",
            decision,
            "--object",
            "contact",
            "--a",
            a,
            "--b",
            b,
            "--by",
            "steward@example.com",
            "--note",
            "checked by phone",
            "--config",
            str(config),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_must_link_cannot_link_and_splitting_a_chain(config, engine, capsys):
    run_all(config)
    ids = _golden(engine)
    john_a, john_b = "amer/003Am0000000000001", "emea/003Em0000000000001"
    maria_a, maria_b = "amer/003Am0000000000002", "emea/003Em0000000000002"
    peter_1, peter_2, peter_3 = (
        "amer/003Am0000000000003",
        "emea/003Em0000000000003",
        "emea/003Em0000000000004",
    )
    assert ids[john_a] == ids[john_b]
    assert ids[maria_a] != ids[maria_b]
    assert ids[peter_1] == ids[peter_2] == ids[peter_3]

    _decide(config, "no_match", john_a, john_b, capsys)
    _decide(config, "match", maria_b, maria_a, capsys)  # either order
    _decide(config, "no_match", peter_1, peter_3, capsys)
    run_all(config)
    ids = _golden(engine)
    assert ids[john_a] != ids[john_b]
    assert ids[maria_a] == ids[maria_b]
    assert ids[peter_1] != ids[peter_3]
    assert ids[peter_2] in (ids[peter_1], ids[peter_3])

    with engine.connect() as conn:
        decided_in_queue = conn.execute(
            text(
                "SELECT count(*) FROM golden.duplicate_review r JOIN steward.decision d "
                "ON d.object = r.object AND ((d.org_a, d.sfid_a, d.org_b, d.sfid_b) = "
                "(r.org_a, r.sfid_a, r.org_b, r.sfid_b) OR (d.org_a, d.sfid_a, d.org_b, d.sfid_b) "
                "= (r.org_b, r.sfid_b, r.org_a, r.sfid_a))"
            )
        ).scalar_one()
        stored = conn.execute(
            text("SELECT count(*), min(decided_by), min(note) FROM steward.decision")
        ).one()
    assert decided_in_queue == 0
    assert tuple(stored) == (3, "steward@example.com", "checked by phone")

    # Decisions survive further runs unchanged.
    run_all(config)
    assert _golden(engine) == ids


def test_bad_decisions_are_refused_with_a_reason(config, engine, capsys):
    run_all(config)
    base = ["review", "decide", "match", "--by", "x", "--config", str(config)]
    cases = {
        ("--object", "contact", "--a", "amer/003Am0000000000001", "--b", "amer/nope"): (
            "not a Salesforce id"
        ),
        (
            "--object",
            "contact",
            "--a",
            "amer/003Am0000000000001",
            "--b",
            "apac/003Ap0000000000001",
        ): ("no live contact apac/003Ap0000000000001"),
        (
            "--object",
            "contact",
            "--a",
            "amer/003Am0000000000001",
            "--b",
            "amer/003Am0000000000001",
        ): ("cannot be paired with itself"),
        ("--review-id", "feedface"): "not in golden.duplicate_review",
    }
    for extra, message in cases.items():
        code = main([*base, *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err, (extra, err)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM steward.decision")).scalar_one() == 0


def test_undo_brings_back_the_decision_before_and_its_steward(config, engine):
    from warehouse.steward import Decision, DecisionError, record_decision, undo_decision

    run_all(config)
    a, b = ("amer", "003Am0000000000002"), ("emea", "003Em0000000000002")

    def standing():
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT decision, decided_by, note FROM steward.decision")
            ).all()

    record_decision(engine, Decision("contact", *b, *a, "match", "ann", "same person"))
    record_decision(engine, Decision("contact", *a, *b, "no_match", "bob", None))
    assert standing() == [("no_match", "bob", None)]
    assert undo_decision(engine, "contact", b, a, "cy") == "match"
    assert standing() == [("match", "ann", "same person")]
    assert undo_decision(engine, "contact", a, b, "cy") is None
    assert standing() == []
    with pytest.raises(DecisionError, match="no decision about"):
        undo_decision(engine, "contact", a, b, "cy")
    with engine.connect() as conn:
        history = conn.execute(
            text("SELECT action, decided_by FROM steward.decision_log ORDER BY id")
        ).all()
    assert history == [("match", "ann"), ("no_match", "bob"), ("undo", "cy"), ("undo", "cy")]
