"""The demo orgs' leads: about one per two contacts, as a marketing team keeps them.

- people who are already customers, often of another org (a contact there), typed
  again from a business card: names with typos or in capitals, the e-mail now and then
  missing, the company name as the person said it;
- new people at companies that are customers (the account is known, the person not);
- prospects nobody knows yet, a few entered in two orgs (one lead cluster);
- converted leads: the contact, account and often opportunity they became, in the
  lead's own org.

The truth keeps, per lead, the person (`lead`: a contact's entity where the person is
a customer) and the company (`lead_company`: an account's entity where it is one).
Generated from a random stream of its own, so everything else stays as it is.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pandas as pd

from demo.heroku_connect import demo_sfid, live_rows

_STATUS_OPEN = ("Open - Not Contacted", "Working - Contacted", "Nurturing")
_SOURCES = ("Web", "Trade Show", "Partner Referral", "Phone Inquiry", "Purchased List", None)
_SECTORS = ("Analytics", "Robotics", "Logistik", "Foods", "Textiles", "Dental", "Studio")
_FIRST = ("Mara", "Jonas", "Keiko", "Tomasz", "Ines", "Rafael", "Aiko", "Lena", "Omar", "Priya")
_LAST = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Castillo", "Nowak", "Brenner", "Haddad")
_FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "gmx.de")


@dataclass
class LeadData:
    leads: dict[str, pd.DataFrame] = field(default_factory=dict)
    # object ('lead' or 'lead_company'), org, sfid, entity
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1 :]


def generate_leads(
    accounts: dict[str, pd.DataFrame],
    contacts: dict[str, pd.DataFrame],
    truth: pd.DataFrame,
    opportunities: dict[str, pd.DataFrame],
    seed: int,
    now: dt.datetime,
) -> LeadData:
    """`now`: when the demo orgs are seeded; no lead is modified after it (a modstamp
    in the future would hold an org's read of its leads there, and no change made
    since would be read)."""
    rng = random.Random(seed * 104_729 + 3)
    entity = {(obj, org, sfid): e for obj, org, sfid, e in truth.itertuples(index=False, name=None)}
    orgs = list(contacts)
    live_contacts = {org: live_rows(frame) for org, frame in contacts.items()}
    live_accounts = {org: live_rows(frame) for org, frame in accounts.items()}
    account_rows = {
        org: {row["sfid"]: row for row in _records(frame)} for org, frame in live_accounts.items()
    }
    deals_of: dict[tuple[str, str], list[str]] = {}
    for org, frame in opportunities.items():
        if frame.empty:
            continue
        for sfid, account in frame[["sfid", "accountid"]].itertuples(index=False):
            deals_of.setdefault((org, account), []).append(sfid)
    rows: dict[str, list[dict]] = {org: [] for org in orgs}
    out_truth: list[tuple[str, str, str, str]] = []
    counters = dict.fromkeys(orgs, 0)
    prospects = 0

    def lead(org: str, person_entity: str, company_entity: str | None, **values) -> dict:
        counters[org] += 1
        lead_sfid = demo_sfid("00Q", org, counters[org])
        created = dt.datetime(2025, 1, 1) + dt.timedelta(hours=rng.randrange(15000))
        row = {
            "sfid": lead_sfid,
            "firstname": None,
            "lastname": None,
            "company": None,
            "email": None,
            "phone": None,
            "mobilephone": None,
            "title": None,
            "website": None,
            "country": None,
            "status": rng.choice(_STATUS_OPEN),
            "leadsource": rng.choice(_SOURCES),
            "isconverted": False,
            "converteddate": None,
            "convertedaccountid": None,
            "convertedcontactid": None,
            "convertedopportunityid": None,
            "ownerid": demo_sfid("005", org, rng.randrange(40)),
            "createddate": created,
            "systemmodstamp": min(created + dt.timedelta(days=rng.randrange(1, 300)), now),
            "isdeleted": False,
            "_hc_lastop": "SYNCED",
            "_hc_err": None,
        } | values
        rows[org].append(row)
        out_truth.append(("lead", org, lead_sfid, person_entity))
        if company_entity is not None:
            out_truth.append(("lead_company", org, lead_sfid, company_entity))
        return row

    def retyped(contact: dict, account: dict | None) -> dict:
        """A customer's details typed again into a lead form, or given on another
        occasion: a typo, capitals, an initial, a private mailbox, a shorter company."""
        first, last = contact["firstname"] or "", contact["lastname"] or ""
        if rng.random() < 0.15:
            first = _typo(rng, first)
        if rng.random() < 0.1:
            last = _typo(rng, last)
        if first and rng.random() < 0.05:
            first = first[0] + "."
        if rng.random() < 0.1:
            first, last = first.upper(), last.upper()
        email = contact["email"]
        draw = rng.random()
        if draw < 0.2:
            email = None
        elif draw < 0.3 and first and last:
            private = f"{first}.{last}{rng.randrange(10, 99)}".lower().replace(" ", "")
            email = f"{private}@{rng.choice(_FREE_MAIL)}"
        company = account["name"] if account is not None else None
        if company and rng.random() < 0.3:
            company = company.split(" ")[0]
        elif company and rng.random() < 0.1:
            company = _typo(rng, company)
        return {
            "firstname": first or None,
            "lastname": last or None,
            "email": email,
            "mobilephone": contact.get("mobilephone") if rng.random() < 0.5 else None,
            "phone": contact["phone"] if rng.random() < 0.4 else None,
            "title": contact["title"],
            "company": company,
            "country": contact["mailingcountry"],
        }

    for org in orgs:
        frame = live_contacts[org]
        for contact in _records(frame):
            draw = rng.random()
            person = entity.get(("contact", org, contact["sfid"]))
            account = account_rows[org].get(contact["accountid"])
            company_entity = entity.get(("account", org, contact["accountid"]))
            if draw < 0.17 and person:
                # Already a customer: the lead lands in any org, mostly another one.
                where = rng.choice(orgs)
                lead(where, person, company_entity, **retyped(contact, account))
            elif draw < 0.23 and person and account is not None:
                # The person was a lead here once, and converted.
                deals = deals_of.get((org, contact["accountid"]), [])
                converted = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(600))
                lead(
                    org,
                    person,
                    company_entity,
                    **retyped(contact, account),
                    status="Closed - Converted",
                    isconverted=True,
                    converteddate=converted,
                    convertedaccountid=contact["accountid"],
                    convertedcontactid=contact["sfid"],
                    convertedopportunityid=rng.choice(deals)
                    if deals and rng.random() < 0.6
                    else None,
                )
            elif draw < 0.30 and account is not None:
                # Someone new at a customer: the company is known, the person is not.
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                domain = account["website"]
                local = f"{first}.{last}{rng.randrange(10, 99)}".lower()
                lead(
                    rng.choice(orgs),
                    f"lead-person:{org}/{contact['sfid']}",
                    company_entity,
                    firstname=first,
                    lastname=last,
                    company=account["name"],
                    email=f"{local}@{_domain(domain)}" if domain else None,
                    website=domain,
                    country=account["billingcountry"],
                )
            elif draw < 0.50:
                # A prospect nobody knows yet; now and then in two orgs.
                prospects += 1
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                company = f"{last} {rng.choice(_SECTORS)} {prospects}"
                slug = company.lower().replace(" ", "")
                mail = rng.choice(_FREE_MAIL) if rng.random() < 0.3 else f"{slug}.example"
                values = {
                    "firstname": first,
                    "lastname": last,
                    "company": company,
                    "email": f"{first}.{last}.{prospects}@{mail}".lower(),
                    "phone": f"+4930{rng.randrange(10**6, 10**7)}",
                }
                person_entity = f"prospect:{prospects}"
                first_org = rng.choice(orgs)
                lead(first_org, person_entity, None, **values)
                if rng.random() < 0.1:
                    again = dict(values)
                    again["firstname"] = first.upper()
                    if rng.random() < 0.5:
                        again["phone"] = None
                    lead(rng.choice(orgs), person_entity, None, **again)
    data = LeadData(truth=pd.DataFrame(out_truth, columns=["object", "org", "sfid", "entity"]))
    for org in orgs:
        data.leads[org] = pd.DataFrame(rows[org])
    return data


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts, empty values as None (not NaN)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _domain(website: str) -> str:
    text = website.lower().split("//")[-1].split("/")[0]
    return text[4:] if text.startswith("www.") else text
