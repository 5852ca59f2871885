"""`org360 demo --api-org KEY`: one demo org read through the Salesforce API instead of
its Heroku Connect schema.

Its seeded records move into the Salesforce stand-in (same ids, same values, same
change stamps), which serves them over HTTPS on 127.0.0.1 for as long as the demo
runs; its Connect schema is dropped, and the config reads it with `source:
salesforce`. The quality printed afterwards is the same as through Connect: the
records are.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from demo.heroku_connect import quote_ident
from salesforce_standin import FieldDef, StandinOrg, StandinServer
from warehouse.staging import source_columns

# Connect table -> Salesforce object, in the order records are created (parents first).
TABLES = (
    ("currencytype", "CurrencyType"),
    ("datedconversionrate", "DatedConversionRate"),
    ("account", "Account"),
    ("contact", "Contact"),
    ("opportunity", "Opportunity"),
    ("opportunitycontactrole", "OpportunityContactRole"),
    ("lead", "Lead"),
)
# Connect's own bookkeeping, not Salesforce fields.
_CONNECT_ONLY = {"id", "_hc_lastop", "_hc_err"}
# The variables the demo's config names for the stand-in's credentials.
ENV = {
    "username_env": "ORG360_DEMO_SF_USERNAME",
    "password_env": "ORG360_DEMO_SF_PASSWORD",
    "security_token_env": "ORG360_DEMO_SF_TOKEN",
}


@dataclass
class ApiOrg:
    server: StandinServer
    org: StandinOrg
    config: dict  # the org's entries in org360.yaml
    records: int

    def stop(self) -> None:
        self.server.stop()


def serve_through_api(engine: Engine, org: dict) -> ApiOrg:
    """Move demo org `org` (its DEMO_ORGS entry) into a stand-in Salesforce, start it,
    and return the config that reads it through the API."""
    schema = org["schema"]
    frames = _read_schema(engine, schema)
    corporate = _corporate_currency(frames.get("currencytype"))
    multi = "currencyisocode" in frames.get("account", pd.DataFrame()).columns
    standin = StandinOrg(multi_currency=multi, corporate_currency=corporate or "USD")
    records = 0
    for table, sobject in TABLES:
        frame = frames.get(table)
        if frame is None or sobject not in standin.object_names():
            continue
        if table == "currencytype" and corporate:
            # The stand-in made the corporate currency's row, as Salesforce does.
            frame = frame[frame["isocode"] != corporate]
        records += _load(standin, sobject, frame)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {quote_ident(conn, schema)} CASCADE")
        # A stand-in starts afresh: so does what an earlier demo extracted from one.
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quote_ident(conn, schema + '_api')} CASCADE")
        conn.execute(
            text("DELETE FROM org360.salesforce_extract WHERE org = :org"), {"org": org["key"]}
        )
    server = StandinServer(standin)
    credentials = {name: secrets.token_urlsafe(12) for name in ENV.values()}
    server.add_user(
        credentials[ENV["username_env"]],
        credentials[ENV["password_env"]],
        credentials[ENV["security_token_env"]],
    )
    server.start()
    os.environ.update(credentials)
    # The stand-in's certificate is from a CA of its own, trusted as a private CA is.
    os.environ["REQUESTS_CA_BUNDLE"] = str(server.ca_path)
    config = {
        **{k: v for k, v in org.items() if k not in ("schema", "instance_url")},
        "schema": f"{schema}_api",
        "instance_url": server.url,
        "source": "salesforce",
        "salesforce": {"login_url": server.url, **ENV},
    }
    return ApiOrg(server=server, org=standin, config=config, records=records)


def _read_schema(engine: Engine, schema: str) -> dict[str, pd.DataFrame]:
    frames = {}
    with engine.connect() as conn:
        for table, _ in TABLES:
            if source_columns(conn, schema, table) is not None:
                frames[table] = pd.read_sql_query(
                    text(f"SELECT * FROM {quote_ident(conn, schema)}.{quote_ident(conn, table)}"),
                    conn,
                )
    return frames


def _corporate_currency(frame: pd.DataFrame | None) -> str | None:
    if frame is None or frame.empty:
        return None
    corporate = frame[frame["iscorporate"].fillna(False).astype(bool)]
    return str(corporate["isocode"].iloc[0]) if not corporate.empty else None


def _load(standin: StandinOrg, sobject: str, frame: pd.DataFrame) -> int:
    """Insert the synced rows of one Connect table (custom columns become custom
    fields); deleted ones go to the recycle bin."""
    frame = frame[frame["sfid"].notna()]
    api_names = {f["name"].lower(): f["name"] for f in standin.describe(sobject)["fields"]}
    for column in frame.columns:
        if column in _CONNECT_ONLY or column in ("sfid", "isdeleted") or column in api_names:
            continue
        name = column[:-3].title() + "__c" if column.endswith("__c") else column
        standin.add_field(sobject, FieldDef(name, "string", length=255))
        api_names[column] = name
    rows = []
    for record in frame.to_dict("records"):
        row = {"Id": record["sfid"]}
        for column, value in record.items():
            if column in _CONNECT_ONLY or column in ("sfid", "isdeleted"):
                continue
            row[api_names[column]] = _plain(value)
        rows.append(row)
    ids = standin.insert(sobject, rows)
    deleted = frame["isdeleted"].fillna(False).astype(bool) if "isdeleted" in frame else None
    if deleted is not None and deleted.any():
        standin.delete(sobject, [i for i, d in zip(ids, deleted, strict=True) if d])
    return len(ids)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        moment = value.to_pydatetime()
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value
