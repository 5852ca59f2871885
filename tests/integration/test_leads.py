"""Leads from every org: matched to the customers of every org and to each other, linked
to what a conversion made of them, summed up per golden account, served by OData and
kept right by incremental runs (a lead deleted, a customer who appears later)."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from core.database import make_engine
from demo.heroku_connect import create_connect_table
from demo.seed import evaluate_leads
from pipelines.runner import run_all
from tests.helpers.orgs import golden_value, seed_demo, write_config
from tests.integration.odata.conftest import PASSWORD, USER, running_server

LEAD_COLUMNS = (
    "sfid, firstname, lastname, company, email, phone, isconverted, convertedaccountid, "
    "convertedcontactid, convertedopportunityid, systemmodstamp, isdeleted, _hc_lastop"
)


def _contact(conn, schema: str, offset: int) -> dict:
    """A live contact with a name and an e-mail, and its account."""
    return dict(
        conn.execute(
            text(
                f"SELECT c.sfid, c.firstname, c.lastname, c.email, c.accountid, a.name AS company "
                f"FROM {schema}.contact c JOIN {schema}.account a ON a.sfid = c.accountid "
                "WHERE c.sfid IS NOT NULL AND NOT COALESCE(c.isdeleted, false) "
                "AND NOT COALESCE(a.isdeleted, false) AND c.email IS NOT NULL "
                "AND c.firstname IS NOT NULL AND length(c.lastname) > 4 "
                "ORDER BY c.sfid OFFSET :offset LIMIT 1"
            ),
            {"offset": offset},
        )
        .mappings()
        .one()
    )


def _lead(conn, schema: str, sfid: str, **values) -> None:
    row = {
        "sfid": sfid,
        "firstname": None,
        "lastname": None,
        "company": None,
        "email": None,
        "phone": None,
        "isconverted": False,
        "convertedaccountid": None,
        "convertedcontactid": None,
        "convertedopportunityid": None,
        "isdeleted": False,
        "_hc_lastop": "SYNCED",
    } | values
    conn.execute(
        text(
            f"INSERT INTO {schema}.lead ({LEAD_COLUMNS}) VALUES (:sfid, :firstname, :lastname, "
            ":company, :email, :phone, :isconverted, :convertedaccountid, :convertedcontactid, "
            ":convertedopportunityid, now(), :isdeleted, :_hc_lastop)"
        ),
        row,
    )


def _seed_leads(engine) -> dict:
    """Leads of five kinds; returns the customers they stand for."""
    with engine.begin() as conn:
        for schema in ("sf_amer", "sf_emea", "sf_apac"):
            conn.execute(text(f"DROP TABLE IF EXISTS {schema}.lead"))
            create_connect_table(conn, schema, "lead")
        customer = _contact(conn, "sf_amer", 0)
        converted = _contact(conn, "sf_emea", 1)
        colleague = _contact(conn, "sf_apac", 2)
        # An amer customer, typed again in emea: a letter of the last name dropped.
        _lead(
            conn,
            "sf_emea",
            "00QEm0000000000001",
            firstname=customer["firstname"],
            lastname=customer["lastname"][:-1],
            email=customer["email"].upper(),
            company=customer["company"],
        )
        # Someone new at an apac customer: the company is known, the person is not.
        _lead(
            conn,
            "sf_amer",
            "00QAm0000000000002",
            firstname="Quirin",
            lastname="Oyelaran-Whitcombe",
            email="quirin.ow@" + colleague["email"].split("@")[1],
            company=colleague["company"],
        )
        # A prospect nobody knows, in two orgs: one lead cluster, no customer.
        for schema, sfid in (("sf_amer", "00QAm0000000000003"), ("sf_apac", "00QAp0000000000003")):
            _lead(
                conn,
                schema,
                sfid,
                firstname="Zephyrine",
                lastname="Abernathy-Kowalczyk",
                email="zephyrine.ak@quokka-tiles.example",
                company="Quokka Tiles",
                phone="+44 20 7946 0321",
            )
        # Converted in emea into one of its contacts and that contact's account.
        _lead(
            conn,
            "sf_emea",
            "00QEm0000000000004",
            firstname=converted["firstname"],
            lastname=converted["lastname"],
            isconverted=True,
            convertedaccountid=converted["accountid"],
            convertedcontactid=converted["sfid"],
        )
        # Deleted in its org: no golden lead.
        _lead(conn, "sf_apac", "00QAp0000000000005", lastname="Gone", isdeleted=True)
    return {"customer": customer, "converted": converted, "colleague": colleague}


def _golden_lead(engine, org: str, sfid: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT * FROM golden.lead WHERE org = :org AND sfid = :sfid"),
                {"org": org, "sfid": sfid},
            )
            .mappings()
            .one()
        )


def test_leads_are_matched_to_every_orgs_customers_and_followed_incrementally(
    database_url, tmp_path
):
    seed_demo(database_url, companies=60)
    engine = make_engine(database_url)
    people = _seed_leads(engine)
    config = write_config(tmp_path / "org360.yaml", database_url)
    run_all(config)

    customer, converted, colleague = people["customer"], people["converted"], people["colleague"]
    typed_again = _golden_lead(engine, "emea", "00QEm0000000000001")
    assert typed_again["golden_contact_id"] == golden_value(
        engine, "contact", "amer", customer["sfid"], "golden_id"
    )
    assert typed_again["golden_account_id"] == golden_value(
        engine, "account", "amer", customer["accountid"], "golden_id"
    )
    assert typed_again["match_weight"] > 0

    newcomer = _golden_lead(engine, "amer", "00QAm0000000000002")
    assert newcomer["golden_contact_id"] is None
    assert newcomer["golden_account_id"] == golden_value(
        engine, "account", "apac", colleague["accountid"], "golden_id"
    )

    prospect = _golden_lead(engine, "amer", "00QAm0000000000003")
    twin = _golden_lead(engine, "apac", "00QAp0000000000003")
    assert prospect["lead_cluster_id"] == twin["lead_cluster_id"]
    assert prospect["lead_cluster_id"] in (prospect["golden_id"], twin["golden_id"])
    assert prospect["golden_contact_id"] is None and prospect["golden_account_id"] is None
    assert newcomer["lead_cluster_id"] == newcomer["golden_id"]

    done = _golden_lead(engine, "emea", "00QEm0000000000004")
    contact_id = golden_value(engine, "contact", "emea", converted["sfid"], "golden_id")
    assert done["is_converted"] is True
    assert done["converted_contact_golden_id"] == contact_id == done["golden_contact_id"]
    assert done["converted_account_golden_id"] == golden_value(
        engine, "account", "emea", converted["accountid"], "golden_id"
    )

    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT count(*) FROM golden.lead WHERE sfid = '00QAp0000000000005'")
            ).scalar_one()
            == 0
        )
        # Every live lead is in golden.xref, under its own golden lead.
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM golden.xref x JOIN golden.lead g USING (golden_id) "
                    "WHERE x.object = 'lead' AND x.org = g.org AND x.sfid = g.sfid"
                )
            ).scalar_one()
            == 5
        )
        # The open leads of the newcomer's account count in its summary.
        summary = conn.execute(
            text("SELECT open_leads, orgs FROM golden.account_summary WHERE golden_id = :id"),
            {"id": newcomer["golden_account_id"]},
        ).one()
    assert summary.open_leads >= 1 and "amer" in summary.orgs.split(",")

    # A run that finds nothing changed rewrites no lead: the models are reused, so every
    # weight comes out the same.
    def stamps() -> dict:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT golden_id, updated_at FROM golden.lead")).all())

    before = stamps()
    with engine.connect() as conn:
        matched_at = conn.execute(
            text("SELECT resolved_at FROM resolve.state WHERE object = 'lead_match'")
        ).scalar_one()
    run_all(config)
    assert stamps() == before
    with engine.connect() as conn:
        # Nothing a lead is matched with changed: the last matching stands.
        assert (
            conn.execute(
                text("SELECT resolved_at FROM resolve.state WHERE object = 'lead_match'")
            ).scalar_one()
            == matched_at
        )

    # Incremental: the prospect becomes an apac customer; the typed-again lead is deleted.
    with engine.begin() as conn:
        account = conn.execute(
            text("SELECT sfid FROM sf_apac.account WHERE sfid IS NOT NULL ORDER BY sfid LIMIT 1")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO sf_apac.contact (sfid, firstname, lastname, email, phone, accountid, "
                "systemmodstamp, isdeleted, _hc_lastop) VALUES ('003Ap0000000099999', "
                "'Zephyrine', 'Abernathy-Kowalczyk', 'zephyrine.ak@quokka-tiles.example', "
                "'+44 20 7946 0321', :account, now(), false, 'SYNCED')"
            ),
            {"account": account},
        )
        conn.execute(
            text(
                "UPDATE sf_emea.lead SET isdeleted = true, systemmodstamp = now() "
                "WHERE sfid = '00QEm0000000000001'"
            )
        )
    run_all(config)
    # Only the leads whose customer changed are rewritten (the prospect's two), not
    # every lead whose weight a model fitted afresh would move a little.
    after = stamps()
    moved = [g for g, stamp in after.items() if g in before and stamp != before[g]]
    assert 1 <= len(moved) <= 3, moved
    new_contact = golden_value(engine, "contact", "apac", "003Ap0000000099999", "golden_id")
    for org, sfid in (("amer", "00QAm0000000000003"), ("apac", "00QAp0000000000003")):
        assert _golden_lead(engine, org, sfid)["golden_contact_id"] == new_contact
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM golden.xref WHERE object = 'lead' "
                    "AND sfid = '00QEm0000000000001'"
                )
            ).scalar_one()
            == 0
        )

    # Served by OData: the set, and an account's leads.
    with running_server(database_url) as server:
        base, auth = server.root.rstrip("/"), (USER, PASSWORD)
        leads = httpx.get(
            f"{base}/Leads",
            params={"$filter": f"GoldenAccountId eq '{newcomer['golden_account_id']}'"},
            auth=auth,
        )
        assert leads.status_code == 200, leads.text
        assert newcomer["golden_id"] in [r["GoldenId"] for r in leads.json()["value"]]
        via_account = httpx.get(
            f"{base}/Accounts('{newcomer['golden_account_id']}')/Leads", auth=auth
        )
        assert via_account.status_code == 200, via_account.text
        assert newcomer["golden_id"] in [r["GoldenId"] for r in via_account.json()["value"]]
        found = httpx.get(f"{base}/Leads", params={"$search": "quokka"}, auth=auth)
        assert found.status_code == 200, found.text
        assert {prospect["golden_id"], twin["golden_id"]} <= {
            r["GoldenId"] for r in found.json()["value"]
        }
        contact = httpx.get(f"{base}/Leads('{done['golden_id']}')/Contact", auth=auth)
        assert contact.status_code == 200 and contact.json()["GoldenId"] == contact_id
        converted_into = httpx.get(
            f"{base}/Leads('{done['golden_id']}')/ConvertedContact", auth=auth
        )
        assert converted_into.json()["GoldenId"] == contact_id
    engine.dispose()


def _main_org_sfids(engine, obj: str, main_org: str) -> tuple[int, int]:
    """Golden records with a member in the main org, and those whose main_org_sfid is
    one of those members."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT count(*) FILTER (WHERE has_main), count(*) FILTER (WHERE right_one) "
                f"FROM (SELECT g.golden_id, bool_or(x.org = :main) AS has_main, "
                f"bool_or(x.org = :main AND x.sfid = g.main_org_sfid) AS right_one "
                f"FROM golden.{obj} g JOIN golden.xref x ON x.golden_id = g.golden_id "
                f"GROUP BY g.golden_id) t"
            ),
            {"main": main_org},
        ).one()


def test_demo_leads_find_their_customers_and_deals_their_people(database_url, tmp_path):
    data = seed_demo(database_url, companies=120)
    config = write_config(tmp_path / "org360.yaml", database_url, main_org="emea")
    run_all(config)
    engine = make_engine(database_url)
    # Each golden record names its best member in the main org, where it has one.
    for obj in ("account", "contact", "opportunity"):
        with_member, named = _main_org_sfids(engine, obj, "emea")
        assert with_member > 20 and named == with_member, obj
    with engine.connect() as conn:
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM golden.account g WHERE main_org_sfid IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM golden.xref x WHERE x.golden_id = g.golden_id "
                    "AND x.org = 'emea')"
                )
            ).scalar_one()
            == 0
        )
    quality = evaluate_leads(engine)
    for kind in ("person", "company"):
        assert quality[kind].expected >= 20, quality[kind].line()
        assert quality[kind].precision >= 0.95, quality[kind].line()
        assert quality[kind].recall >= 0.85, quality[kind].line()

    # Each contact role links its deal's golden opportunity and its person's golden contact.
    roles = data.pipeline.contact_roles["emea"]
    with engine.connect() as conn:
        published = {
            r.sfid: r
            for r in conn.execute(
                text(
                    "SELECT sfid, golden_opportunity_id, golden_contact_id, role, is_primary "
                    "FROM golden.contact_role WHERE org = 'emea'"
                )
            )
        }
    assert len(roles) >= 20 and set(published) == set(roles["sfid"])
    role = roles.iloc[0]
    got = published[role["sfid"]]
    assert got.golden_opportunity_id == golden_value(
        engine, "opportunity", "emea", role["opportunityid"], "golden_id"
    )
    assert got.golden_contact_id == golden_value(
        engine, "contact", "emea", role["contactid"], "golden_id"
    )
    assert (got.role, got.is_primary) == (role["role"], bool(role["isprimary"]))
    with running_server(database_url) as server:
        people = httpx.get(
            f"{server.root}Opportunities('{got.golden_opportunity_id}')/OpportunityContactRoles",
            auth=(USER, PASSWORD),
        )
        assert people.status_code == 200, people.text
        assert got.golden_contact_id in [r["GoldenContactId"] for r in people.json()["value"]]
        account = httpx.get(
            f"{server.root}Accounts",
            params={"$filter": "MainOrgSfid ne null", "$top": "1"},
            auth=(USER, PASSWORD),
        ).json()["value"][0]
        assert account["MainOrgSfid"].startswith("001Em")

    # Another main org: every golden record is rebuilt, though no record changed.
    write_config(tmp_path / "org360.yaml", database_url, main_org="apac")
    run_all(config)
    with_member, named = _main_org_sfids(engine, "account", "apac")
    assert with_member > 20 and named == with_member
    engine.dispose()
