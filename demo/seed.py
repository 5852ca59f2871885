"""Seed demo orgs into Heroku Connect-shaped schemas, and score a publication against truth."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Engine, text

from dedupe.evaluate import Quality, QueueRecall, queue_recall, score_clusters
from demo.generator import DemoData
from demo.heroku_connect import create_connect_table, quote_ident
from demo.opportunities import MULTI_CURRENCY, PipelineData, stage_map
from warehouse.sql import copy_frame, ident

# emea keeps its D-U-N-S number in a custom field; apac's mapping has no mobile phone.
DEMO_ORGS = (
    # Where each org's users open a record (the web app links there).
    {
        "key": "amer",
        "schema": "sf_amer",
        "priority": 1,
        "instance_url": "https://amer-demo.my.salesforce.com",
    },
    {
        "key": "emea",
        "schema": "sf_emea",
        "priority": 2,
        "instance_url": "https://emea-demo.my.salesforce.com",
        "fields": {"account": {"registration_number": "duns_number__c"}},
        # Its own stage names, on the shared funnel.
        "stages": stage_map("emea"),
    },
    # One currency, no rate tables: its rates come from a file (demo.opportunities).
    {
        "key": "apac",
        "schema": "sf_apac",
        "priority": 3,
        "currency": "JPY",
        "instance_url": "https://apac-demo.my.salesforce.com",
    },
)
_CUSTOM_COLUMNS = {"emea": {"account": {"duns_number__c": "varchar(20)"}}}
_OMITTED_COLUMNS = {"apac": {"contact": ("mobilephone",)}}


def write_demo_config(
    path: Path, database_url: str | None = None, replaced: dict[str, dict] | None = None
) -> Path:
    """The demo's config; `replaced` swaps an org's entry (one read through the API)."""
    replaced = replaced or {}
    # amer is where Salesforce Connect shows the 360 view (see docs/salesforce-setup.md).
    config: dict = {
        "main_org": "amer",
        "orgs": [dict(replaced.get(o["key"], o)) for o in DEMO_ORGS],
    }
    if database_url:
        config["database_url"] = database_url
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `org360 demo`: three demo orgs seeded into this database.\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    return path


def seed(engine: Engine, data: DemoData) -> dict[str, int]:
    """(Re)create the demo orgs' schemas and the truth table; return rows per table."""
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS demo")
        conn.exec_driver_sql("DROP TABLE IF EXISTS demo.truth")
        conn.exec_driver_sql(
            "CREATE TABLE demo.truth (object varchar(16), org varchar(40), sfid varchar(18), "
            "entity varchar(40), PRIMARY KEY (object, org, sfid))"
        )
        copy_frame(conn, "demo.truth", data.truth, ["object", "org", "sfid", "entity"])
        for org in DEMO_ORGS:
            key, schema = org["key"], org["schema"]
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quote_ident(conn, schema)} CASCADE")
            for obj, frames in (("account", data.accounts), ("contact", data.contacts)):
                extra = _CUSTOM_COLUMNS.get(key, {}).get(obj, {})
                omitted = _OMITTED_COLUMNS.get(key, {}).get(obj, ())
                create_connect_table(conn, schema, obj, extra_columns=extra, omit_columns=omitted)
                frame = frames[key].copy()
                if obj == "account":
                    if "duns_number__c" in extra:
                        frame["duns_number__c"] = frame["registration"]
                    frame = frame.drop(columns=["registration"])
                frame = frame.drop(columns=[c for c in omitted if c in frame])
                if "numberofemployees" in frame:
                    frame["numberofemployees"] = frame["numberofemployees"].astype("Int64")
                copy_frame(conn, f"{quote_ident(conn, schema)}.{obj}", frame, list(frame.columns))
                counts[f"{schema}.{obj}"] = len(frame)
            if data.pipeline is not None:
                counts |= _seed_pipeline(conn, key, schema, data.pipeline)
            if data.leads is not None and key in data.leads.leads:
                frame = data.leads.leads[key]
                create_connect_table(conn, schema, "lead")
                copy_frame(conn, f"{quote_ident(conn, schema)}.lead", frame, list(frame.columns))
                counts[f"{schema}.lead"] = len(frame)
        # Fresh statistics: the scoring queries join the truth with the publication.
        conn.exec_driver_sql("ANALYZE demo.truth")
    return counts


def _seed_pipeline(conn, key: str, schema: str, pipeline: PipelineData) -> dict[str, int]:
    """The org's opportunities, and the rate tables it syncs (an org with one currency
    has no currencyisocode column and syncs none)."""
    counts = {}
    multi = key in MULTI_CURRENCY
    tables = [("opportunity", pipeline.opportunities.get(key))]
    tables += [("currencytype", pipeline.currency_types.get(key))]
    tables += [("datedconversionrate", pipeline.dated_rates.get(key))]
    tables += [("opportunitycontactrole", pipeline.contact_roles.get(key))]
    for table, frame in tables:
        if frame is None:
            continue
        omitted = () if multi or table != "opportunity" else ("currencyisocode",)
        create_connect_table(conn, schema, table, omit_columns=omitted)
        frame = frame.drop(columns=[c for c in omitted if c in frame])
        if not frame.empty:
            copy_frame(conn, f"{quote_ident(conn, schema)}.{table}", frame, list(frame.columns))
        counts[f"{schema}.{table}"] = len(frame)
    return counts


# Every live record of the truth: those in golden.xref by golden id, each quarantined
# one as a cluster of its own.
_PUBLISHED_TRUTH = (
    "SELECT COALESCE(x.golden_id, 'quarantined:' || r.org || '/' || r.sfid) AS predicted, "
    "t.entity AS truth FROM demo.truth t "
    "LEFT JOIN golden.xref x ON x.object = t.object AND x.org = t.org AND x.sfid = t.sfid "
    "LEFT JOIN golden.rejected_record r "
    "ON r.object = t.object AND r.org = t.org AND r.sfid = t.sfid "
    "WHERE t.object = :obj AND (x.sfid IS NOT NULL OR r.sfid IS NOT NULL)"
)


def evaluate(engine: Engine) -> dict[str, Quality]:
    """Pairwise precision/recall of the publication against the demo's truth."""
    with engine.connect() as conn:
        return {
            obj: score_clusters(
                pd.read_sql_query(text(_PUBLISHED_TRUTH), conn, params={"obj": obj})
            )
            for obj in ("account", "contact")
        }


def evaluate_queue(engine: Engine) -> dict[str, QueueRecall]:
    """How many of the pairs the publication missed wait in the review queue."""
    results = {}
    with engine.connect() as conn:
        for obj in ("account", "contact"):
            frame = pd.read_sql_query(text(_PUBLISHED_TRUTH), conn, params={"obj": obj})
            queue = pd.read_sql_query(
                text(
                    "SELECT golden_id_a AS a, golden_id_b AS b FROM golden.duplicate_review "
                    "WHERE object = :obj"
                ),
                conn,
                params={"obj": obj},
            )
            results[obj] = queue_recall(frame, queue)
    return results


@dataclass(frozen=True)
class Found:
    """What the truth expects org360 to find (deals entered twice, open leads of known
    customers), what it found, and how much of that rightly."""

    expected: int
    found: int
    correct: int
    expected_as: str
    found_as: str

    @property
    def precision(self) -> float:
        return self.correct / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0

    def line(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"({self.expected} {self.expected_as}, {self.found} {self.found_as})"
        )


def evaluate_deals(engine: Engine) -> Found:
    """Deals entered in two orgs against the review queue's opportunity pairs."""
    with engine.connect() as conn:
        # The published deals of every entity entered more than once, paired up.
        entered: dict[str, list[tuple[str, str]]] = {}
        for entity, org, sfid in conn.execute(
            text(
                "SELECT t.entity, t.org, t.sfid FROM demo.truth t JOIN golden.xref x "
                "ON x.object = t.object AND x.org = t.org AND x.sfid = t.sfid "
                "WHERE t.object = 'opportunity' AND t.entity IN (SELECT entity FROM demo.truth "
                "WHERE object = 'opportunity' GROUP BY entity HAVING count(*) > 1)"
            )
        ):
            entered.setdefault(entity, []).append((org, sfid))
        truth = {
            tuple(sorted([a, b])) for deals in entered.values() for a, b in combinations(deals, 2)
        }
        queued = {
            tuple(sorted([(r[0], r[1]), (r[2], r[3])]))
            for r in conn.execute(
                text(
                    "SELECT org_a, sfid_a, org_b, sfid_b FROM golden.duplicate_review "
                    "WHERE object = 'opportunity'"
                )
            )
        }
    return Found(
        len(truth), len(queued), len(truth & queued), "deals entered twice", "pairs for review"
    )


_LEAD_QUALITY = (Path(__file__).parent / "lead_quality.sql").read_text("utf-8")


def evaluate_leads(engine: Engine) -> dict[str, Found]:
    """Each open lead's golden contact and golden account against the truth."""
    results = {}
    with engine.connect() as conn:
        for kind, truth_object, column in (
            ("person", "lead", "golden_contact_id"),
            ("company", "lead_company", "golden_account_id"),
        ):
            target = "contact" if kind == "person" else "account"
            expected, predicted, correct = conn.execute(
                text(_LEAD_QUALITY.format(link=ident(conn, column))),
                {"truth_object": truth_object, "target": target},
            ).one()
            results[kind] = Found(
                expected,
                predicted,
                correct,
                f"open leads of a known {kind}",
                "linked to one",
            )
    return results
