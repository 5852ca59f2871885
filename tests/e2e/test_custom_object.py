"""A custom object added through the catalogue alone: an installation declares
`Partner__c` in a module of its own (tests/helpers/partner_objects.py), names it in
ORG360_OBJECTS, and `org360 run` stages, resolves and publishes it beside accounts and
contacts; `org360 serve` exposes it over OData with a valid `$metadata`. Nothing else
in org360 names partners."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text

from core.database import make_engine
from tests.helpers.cli import API_PASSWORD, API_USER, REPO, org360, serving
from tests.helpers.orgs import seed_demo, write_config

CHECKER = Path("../shared/odata/validate_metadata.py")
EXTENSION = "tests.helpers.partner_objects"
_WORDS = (
    "Alder",
    "Birch",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Garnet",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Onyx",
    "Pioneer",
    "Quartz",
    "Raven",
    "Summit",
    "Tundra",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
)
_KINDS = ("Consulting", "Systems", "Partners", "Solutions", "Digital", "Logistics")


def _partners(rng: random.Random, accounts: dict[str, list[str]]) -> tuple[list[dict], set]:
    """Partners of two orgs: 120 companies, 40 of them known to both (typed a little
    differently in the second), plus one record with nothing to match it by. Returns
    the rows and the true duplicate pairs as (org, sfid) pairs."""
    rows, truth = [], set()
    names = rng.sample([f"{a} {b}" for a in _WORDS for b in _KINDS], 120)
    for i, name in enumerate(names):
        slug = name.lower().replace(" ", "")
        base = {
            "email__c": f"{slug}@partners.example",
            "phone__c": f"+1 415 555 {1000 + i}",
            "tier__c": rng.choice(["Gold", "Silver", "Registered"]),
            "partner_since__c": f"20{10 + i % 14}-0{1 + i % 9}-1{i % 10}",
        }
        first = {
            "org": "amer" if i % 2 else "emea",
            "sfid": f"a0P{i:015d}",
            "name": f"{name} Inc." if i % 3 == 0 else name,
            **base,
        }
        rows.append(first)
        if i < 40:
            twin = {
                "org": "emea" if i % 2 else "amer",
                "sfid": f"a0Q{i:015d}",
                # A letter dropped, or a legal form added: the same company.
                "name": name[:-1] if i % 2 else f"{name} GmbH",
                **base,
                "tier__c": None,
            }
            rows.append(twin)
            truth.add(tuple(sorted([(first["org"], first["sfid"]), (twin["org"], twin["sfid"])])))
    # Another company of the same name (a namesake, not a duplicate).
    namesake = next(r for r in rows if r["sfid"] == f"a0P{50:015d}")
    rows.append(
        {
            "org": "emea" if namesake["org"] == "amer" else "amer",
            "sfid": "a0R000000000000002",
            "name": namesake["name"],
            "email__c": "office@elsewhere.example",
        }
    )
    rows.append({"org": "amer", "sfid": "a0R000000000000001", "name": "---", "email__c": None})
    for row in rows:
        org_accounts = accounts[row["org"]]
        row["account__c"] = org_accounts[int(row["sfid"][-3:]) % len(org_accounts)]
    return rows, truth


def _seed_partners(database_url: str) -> set:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        accounts = {
            org: list(
                conn.execute(
                    text(
                        f"SELECT sfid FROM sf_{org}.account WHERE sfid IS NOT NULL "
                        "AND isdeleted IS NOT TRUE AND name IS NOT NULL ORDER BY sfid"
                    )
                ).scalars()
            )
            for org in ("amer", "emea")
        }
        rows, truth = _partners(random.Random(5), accounts)
        for org in ("amer", "emea"):
            conn.execute(
                text(
                    f"CREATE TABLE sf_{org}.partner__c (id serial PRIMARY KEY, "
                    "sfid varchar(18) UNIQUE, name varchar(80), email__c varchar(80), "
                    "phone__c varchar(40), tier__c varchar(40), partner_since__c date, "
                    "account__c varchar(18), systemmodstamp timestamp DEFAULT now(), "
                    "isdeleted boolean DEFAULT false, _hc_lastop varchar(32) DEFAULT 'SYNCED')"
                )
            )
            conn.execute(
                text(
                    f"INSERT INTO sf_{org}.partner__c (sfid, name, email__c, phone__c, tier__c, "
                    "partner_since__c, account__c) VALUES (:sfid, :name, :email__c, :phone__c, "
                    ":tier__c, CAST(:partner_since__c AS date), :account__c)"
                ),
                [
                    {"phone__c": None, "tier__c": None, "partner_since__c": None, **row}
                    for row in rows
                    if row["org"] == org
                ],
            )
        for org in ("amer", "emea"):
            conn.execute(
                text(
                    f"CREATE TABLE sf_{org}.partner_deal__c (id serial PRIMARY KEY, "
                    "sfid varchar(18) UNIQUE, name varchar(80), amount__c numeric(18, 2), "
                    "won__c boolean, close_date__c date, partner__c varchar(18), "
                    "systemmodstamp timestamp DEFAULT now(), isdeleted boolean DEFAULT false)"
                )
            )
            # Two deals for each partner record of the org.
            conn.execute(
                text(
                    f"INSERT INTO sf_{org}.partner_deal__c (sfid, name, amount__c, won__c, "
                    "close_date__c, partner__c) SELECT 'a0D' || substr(p.sfid, 5, 14) || d, "
                    "p.name || ' deal ' || d, 1000 * d, d = 1, DATE '2026-06-30', p.sfid "
                    f"FROM sf_{org}.partner__c p CROSS JOIN generate_series(1, 2) AS d "
                    "WHERE p.sfid LIKE 'a0P%' OR p.sfid LIKE 'a0Q%'"
                )
            )
    engine.dispose()
    return truth


def _deals(engine) -> dict[str, tuple]:
    """Each published deal's source (org, sfid) -> (amount, won, its golden partner, the golden
    partner its source partner record belongs to)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT x.org, x.sfid, d.amount, d.won, d.partner_golden_id, px.golden_id "
                "FROM golden.partner_deal d JOIN golden.xref x ON x.golden_id = d.golden_id "
                "JOIN unified.partner_deal u ON u.org = x.org AND u.sfid = x.sfid "
                "LEFT JOIN golden.xref px ON px.object = 'partner' AND px.org = u.org "
                "AND px.sfid = u.partner_sfid"
            )
        ).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_a_custom_object_declared_in_the_catalogue_is_consolidated_and_served(
    database_url, tmp_path
):
    seed_demo(database_url, companies=15)
    truth = _seed_partners(database_url)
    config = write_config(tmp_path / "org360.yaml", database_url)
    env = {**os.environ, "ORG360_OBJECTS": EXTENSION, "ORG360_HOME": str(tmp_path)}

    result = org360("run", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert "staging.partner [amer]" in result.stderr
    assert "golden.partner:" in result.stderr

    engine = make_engine(database_url)
    with engine.connect() as conn:
        members = {
            (r.org, r.sfid): r.golden_id
            for r in conn.execute(
                text("SELECT org, sfid, golden_id FROM golden.xref WHERE object = 'partner'")
            )
        }
        golden = conn.execute(
            text(
                "SELECT p.golden_id, p.name, p.email, p.tier, p.since, p.member_count, "
                "p.account_golden_id, p.provenance, a.golden_id AS account "
                "FROM golden.partner p LEFT JOIN golden.account a "
                "ON a.golden_id = p.account_golden_id"
            )
        ).all()
        rejected = conn.execute(
            text("SELECT org, sfid, reason FROM golden.rejected_record WHERE object = 'partner'")
        ).all()
    engine.dispose()

    # Every live partner is in the xref once, but the one with nothing to match it by.
    assert len(members) == 120 + 40 + 1
    assert rejected == [("amer", "a0R000000000000001", "nothing_to_match")]
    # Duplicates found across the two orgs by name and e-mail; the namesake left apart.
    merged = {
        tuple(sorted([a, b]))
        for a in members
        for b in members
        if a < b and members[a] == members[b]
    }
    assert merged == truth
    assert len(golden) == 121
    assert all(g.golden_id.startswith("GP") and g.member_count in (1, 2) for g in golden)
    # Survivorship and links: a tier and a date survive, every partner's account resolves.
    assert all(g.account_golden_id is not None and g.account == g.account_golden_id for g in golden)
    assert sum(g.tier is not None and g.since is not None for g in golden) == 120
    assert all({"name", "email", "account"} <= set(g.provenance) for g in golden)

    # Deals are never merged: one golden deal per source deal, linked to the golden
    # partner of its partner record (a twin's deals to the one golden partner).
    engine = make_engine(database_url)
    deals = _deals(engine)
    assert len(deals) == 2 * (120 + 40)
    assert all(d[2] is not None and d[2] == d[3] for d in deals.values())
    assert all(d[0] in (1000, 2000) and d[1] == (d[0] == 1000) for d in deals.values())
    # Changes reach them incrementally: an amount changed, a deal deleted, one added.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sf_amer.partner_deal__c SET amount__c = 1234.5, won__c = false, "
                "systemmodstamp = now() + interval '1 minute' "
                "WHERE sfid = (SELECT min(sfid) FROM sf_amer.partner_deal__c)"
            )
        )
        conn.execute(
            text(
                "UPDATE sf_amer.partner_deal__c SET isdeleted = true, "
                "systemmodstamp = now() + interval '1 minute' "
                "WHERE sfid = (SELECT max(sfid) FROM sf_amer.partner_deal__c)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sf_emea.partner_deal__c (sfid, name, amount__c, won__c, "
                "partner__c, systemmodstamp) SELECT 'a0DNEW000000000001', 'New deal', 99, "
                "false, min(sfid), now() + interval '1 minute' FROM sf_emea.partner__c"
            )
        )
        changed, deleted = (
            ("amer", sfid)
            for sfid in conn.execute(
                text("SELECT min(sfid), max(sfid) FROM sf_amer.partner_deal__c")
            ).one()
        )
    new = ("emea", "a0DNEW000000000001")
    rerun = org360("run", "--config", str(config), env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert re.search(
        r"resolve\.partner_deal: \d+ records, incremental: 2 changed, 1 deleted", rerun.stderr
    )
    after = _deals(engine)
    engine.dispose()
    assert after[changed][:2] == (1234.5, False)
    assert deleted not in after and new in after
    assert len(after) == len(deals)
    assert {k: v for k, v in after.items() if k not in (changed, new)} == {
        k: v for k, v in deals.items() if k not in (changed, deleted)
    }

    auth = (API_USER, API_PASSWORD)
    with serving(config, {**env, "ORG360_ODATA_PUBLIC_METADATA": "1"}) as root:
        base = root + "/odata/"
        checked = subprocess.run(
            [sys.executable, str(CHECKER), base + "$metadata"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith("VALID")
        metadata = httpx.get(base + "$metadata").text
        assert '<EntitySet Name="Partners" EntityType="org360.Partner"' in metadata

        twins = httpx.get(
            base + "Partners",
            params={"$filter": "MemberCount eq 2", "$orderby": "Name"},
            auth=auth,
        )
        assert twins.status_code == 200, twins.text
        rows = twins.json()["value"]
        assert len(rows) == 40
        account = httpx.get(base + f"Partners('{rows[0]['GoldenId']}')/Account", auth=auth)
        assert account.status_code == 200, account.text
        assert account.json()["GoldenId"] == rows[0]["AccountGoldenId"]
        found = httpx.get(
            base + "Partners", params={"$search": rows[0]["Name"].split()[0]}, auth=auth
        )
        assert rows[0]["GoldenId"] in {r["GoldenId"] for r in found.json()["value"]}
        partner_deals = httpx.get(
            base + f"Partners('{rows[0]['GoldenId']}')/PartnerDeals", auth=auth
        )
        assert partner_deals.status_code == 200, partner_deals.text
        assert len(partner_deals.json()["value"]) == 4  # two from each twin
        sources = httpx.get(base + f"Partners('{rows[0]['GoldenId']}')/SourceRecords", auth=auth)
        assert {r["Object"] for r in sources.json()["value"]} == {"partner"}
        assert len(sources.json()["value"]) == 2
