"""The demo orgs' sales pipeline: opportunities on their accounts, in several
currencies, with each org's own corporate currency, rates and stage names.

- amer: corporate USD, multiple currencies, static rates and dated EUR rates
  (advanced currency management), Salesforce's standard stage names;
- emea: corporate EUR, multiple currencies, static rates only, stage names of its own;
- apac: one currency (JPY, no currencyisocode column) and no rate tables: its rates
  come from a file (`org360 rates load`).

About two opportunities per account record. A deal of a company known to two orgs is
now and then entered in both (the same deal: the truth keeps them as one entity).
Generated from a random stream of its own, so the accounts and contacts stay as they
are whatever is generated here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pandas as pd

from demo.heroku_connect import demo_sfid, live_rows

CORPORATE = {"amer": "USD", "emea": "EUR", "apac": "JPY"}
# Units of each currency per unit of the org's corporate currency.
STATIC_RATES = {
    "amer": {"USD": 1.0, "CAD": 1.36, "EUR": 0.92, "GBP": 0.79},
    "emea": {"EUR": 1.0, "GBP": 0.86, "CHF": 0.95, "USD": 1.09},
    "apac": {"JPY": 1.0, "EUR": 0.0062, "USD": 0.0067},
}
# amer's dated EUR rates: (start, next start, rate).
DATED_RATES = {
    "amer": [
        ("EUR", dt.date(2000, 1, 1), dt.date(2026, 1, 1), 0.90),
        ("EUR", dt.date(2026, 1, 1), dt.date(2026, 7, 1), 0.93),
        ("EUR", dt.date(2026, 7, 1), None, 0.91),
    ]
}
# Which currencies an org's deals are in, and how often.
CURRENCIES = {
    "amer": (("USD", 0.75), ("CAD", 0.15), ("EUR", 0.1)),
    "emea": (("EUR", 0.7), ("GBP", 0.2), ("CHF", 0.1)),
    "apac": (("JPY", 1.0),),
}
MULTI_CURRENCY = ("amer", "emea")
# The shared funnel (Salesforce's standard stages), and each org's names for it.
FUNNEL = (
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Proposal/Price Quote", 60, False, False),
    ("Negotiation/Review", 80, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
STAGE_NAMES = {
    "amer": {stage: stage for stage, *_ in FUNNEL},
    "emea": dict(
        zip(
            [stage for stage, *_ in FUNNEL],
            ["Discover", "Qualify", "Propose", "Negotiate", "Won", "Lost"],
            strict=True,
        )
    ),
    "apac": {stage: stage for stage, *_ in FUNNEL},
}
PRODUCTS = ("Platform", "Support", "Training", "Expansion", "Renewal", "Pilot", "Services")


def stage_map(org: str) -> dict[str, str]:
    """An org's stage names -> the shared funnel's (what the demo config maps)."""
    return {name: stage for stage, name in STAGE_NAMES[org].items()}


def rates_csv() -> str:
    """apac's rates, as a file a user would load."""
    lines = ["org,isocode,conversionrate,iscorporate"]
    lines += [
        f"apac,{code},{rate},{str(code == CORPORATE['apac']).lower()}"
        for code, rate in STATIC_RATES["apac"].items()
    ]
    return "\n".join(lines) + "\n"


@dataclass
class PipelineData:
    opportunities: dict[str, pd.DataFrame] = field(default_factory=dict)
    currency_types: dict[str, pd.DataFrame] = field(default_factory=dict)
    dated_rates: dict[str, pd.DataFrame] = field(default_factory=dict)
    contact_roles: dict[str, pd.DataFrame] = field(default_factory=dict)
    # object, org, sfid, entity (a deal entered in two orgs is one entity)
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)


def generate_pipeline(
    accounts: dict[str, pd.DataFrame], account_truth: pd.DataFrame, seed: int
) -> PipelineData:
    rng = random.Random(seed * 7919 + 1)
    entity_of = {
        (org, sfid): entity
        for org, sfid, entity in account_truth.loc[
            account_truth["object"] == "account", ["org", "sfid", "entity"]
        ].itertuples(index=False)
    }
    rows: dict[str, list[dict]] = {org: [] for org in accounts}
    truth: list[tuple[str, str, str, str]] = []
    counters = dict.fromkeys(accounts, 0)
    # Accounts of one company in other orgs, for deals entered twice.
    by_entity: dict[str, list[tuple[str, str]]] = {}
    for (org, sfid), entity in entity_of.items():
        by_entity.setdefault(entity, []).append((org, sfid))

    def deal(org: str, account: str, base: dict | None = None) -> dict:
        counters[org] += 1
        deal_sfid = demo_sfid("006", org, counters[org])
        if base is None:
            stage, probability, closed, won = rng.choices(FUNNEL, weights=(20, 18, 15, 10, 22, 15))[
                0
            ]
            currency = rng.choices(*zip(*CURRENCIES[org], strict=True))[0]
            # Worth about the same in any currency (a deal in yen is not 22,000 yen).
            amount = _typed(rng.lognormvariate(10, 1.1) * _to(org, currency) / _to(org, "EUR"))
            close = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(900))
            name = f"{rng.choice(PRODUCTS)} {close.year}"
        else:
            stage, probability, closed, won = base["funnel"]
            # The same deal, typed in this org's currency and a few days apart.
            currency = rng.choices(*zip(*CURRENCIES[org], strict=True))[0]
            amount = _typed(base["amount_eur"] * _to(org, currency) / _to(org, "EUR"))
            close = base["close"] + dt.timedelta(days=rng.randrange(-5, 6))
            name = base["name"]
        row = {
            "sfid": deal_sfid,
            "name": name,
            "accountid": account,
            "stagename": STAGE_NAMES[org][stage],
            "isclosed": closed,
            "iswon": won,
            "forecastcategoryname": "Closed" if won else ("Omitted" if closed else "Pipeline"),
            "closedate": close,
            "amount": amount,
            "currencyisocode": currency,
            "probability": probability,
            "type": rng.choice(("New Business", "Existing Business")),
            "leadsource": rng.choice(("Web", "Partner", "Phone Inquiry", None)),
            "ownerid": demo_sfid("005", org, rng.randrange(40)),
            "createddate": dt.datetime(2024, 6, 1) + dt.timedelta(hours=rng.randrange(20000)),
            "systemmodstamp": dt.datetime(2026, 10, 1) + dt.timedelta(minutes=rng.randrange(40000)),
            "isdeleted": False,
            "_hc_lastop": "SYNCED",
            "_hc_err": None,
        }
        if org not in MULTI_CURRENCY:
            row["currencyisocode"] = None
        rows[org].append(row)
        return {
            "funnel": (stage, probability, closed, won),
            "amount_eur": amount / _to(org, currency) * _to(org, "EUR") if currency else amount,
            "close": close,
            "name": name,
            "sfid": deal_sfid,
        }

    for org, frame in accounts.items():
        live = live_rows(frame)
        for account in live["sfid"]:
            for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
                made = deal(org, account)
                entity = f"deal:{org}/{made['sfid']}"
                truth.append(("opportunity", org, made["sfid"], entity))
                twins = [
                    (o, s)
                    for o, s in by_entity.get(entity_of.get((org, account), ""), [])
                    if o != org
                ]
                if twins and rng.random() < 0.04:
                    other_org, other_account = rng.choice(twins)
                    twin = deal(other_org, other_account, made)
                    truth.append(("opportunity", other_org, twin["sfid"], entity))

    data = PipelineData(truth=pd.DataFrame(truth, columns=["object", "org", "sfid", "entity"]))
    for org in accounts:
        data.opportunities[org] = pd.DataFrame(rows[org])
        if org in MULTI_CURRENCY:
            data.currency_types[org] = pd.DataFrame(
                [
                    {
                        "sfid": f"01L{org[:2].title()}{i:013d}",
                        "isocode": code,
                        "conversionrate": rate,
                        "iscorporate": code == CORPORATE[org],
                        "isactive": True,
                    }
                    for i, (code, rate) in enumerate(STATIC_RATES[org].items())
                ]
            )
        if org in DATED_RATES:
            data.dated_rates[org] = pd.DataFrame(
                [
                    {
                        "sfid": f"04w{org[:2].title()}{i:013d}",
                        "isocode": code,
                        "startdate": start,
                        "nextstartdate": until,
                        "conversionrate": rate,
                    }
                    for i, (code, start, until, rate) in enumerate(DATED_RATES[org])
                ]
            )
    return data


def _typed(amount: float) -> float:
    """An amount as people enter one: round hundreds when large, cents otherwise."""
    return max(round(amount, -2) if amount >= 10_000 else round(amount, 2), 1.0)


def _to(org: str, code: str) -> float:
    """Units of `code` per unit of the org's corporate currency (its static rate)."""
    return STATIC_RATES[org].get(code, 1.0)


ROLES = ("Decision Maker", "Economic Buyer", "Technical Buyer", "Evaluator", "Influencer")


def contact_roles(
    opportunities: dict[str, pd.DataFrame], contacts: dict[str, pd.DataFrame], seed: int
) -> dict[str, pd.DataFrame]:
    """The people of each deal (OpportunityContactRole), as sales teams keep them: half
    the deals name none, the others one or two of the account's contacts, the first
    primary."""
    rng = random.Random(seed * 31 + 5)
    out = {}
    for org, deals in opportunities.items():
        people = contacts.get(org)
        rows = []
        if not deals.empty and people is not None and not people.empty:
            live = live_rows(people)
            by_account = live.groupby("accountid")["sfid"].apply(list).to_dict()
            for deal, account, stamp in deals[["sfid", "accountid", "systemmodstamp"]].itertuples(
                index=False
            ):
                candidates = by_account.get(account, [])
                # Half the deals name their people; a fifth of those name two.
                named = 0 if rng.random() < 0.5 else 2 if rng.random() < 0.2 else 1
                for i, contact in enumerate(rng.sample(candidates, min(len(candidates), named))):
                    rows.append(
                        {
                            "sfid": demo_sfid("00K", org, len(rows) + 1),
                            "opportunityid": deal,
                            "contactid": contact,
                            "role": rng.choice(ROLES),
                            "isprimary": i == 0,
                            "systemmodstamp": stamp,
                            "isdeleted": False,
                            "_hc_lastop": "SYNCED",
                            "_hc_err": None,
                        }
                    )
        out[org] = pd.DataFrame(rows)
    return out
