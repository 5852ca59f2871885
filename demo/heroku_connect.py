"""Tables laid out as Heroku Connect creates them, for the demo and for tests.

Column names are lower-case Salesforce API names; types follow Connect's
(ids varchar(18), picklists varchar(255), email varchar(80), phone varchar(40),
numbers double precision, datetimes timestamp without time zone in UTC).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.sql import quoted_name

SYSTEM_COLUMNS = """
    id              serial PRIMARY KEY,
    sfid            varchar(18) UNIQUE,
    systemmodstamp  timestamp,
    createddate     timestamp,
    isdeleted       boolean,
    _hc_lastop      varchar(32),
    _hc_err         text
"""

STANDARD_COLUMNS: dict[str, dict[str, str]] = {
    "account": {
        "name": "varchar(255)",
        "website": "varchar(255)",
        "phone": "varchar(40)",
        "billingstreet": "varchar(255)",
        "billingcity": "varchar(40)",
        "billingstate": "varchar(80)",
        "billingpostalcode": "varchar(20)",
        "billingcountry": "varchar(80)",
        "industry": "varchar(255)",
        "type": "varchar(255)",
        "annualrevenue": "double precision",
        "currencyisocode": "varchar(3)",
        "numberofemployees": "double precision",
    },
    "contact": {
        "firstname": "varchar(40)",
        "lastname": "varchar(80)",
        "email": "varchar(80)",
        "phone": "varchar(40)",
        "mobilephone": "varchar(40)",
        "title": "varchar(128)",
        "mailingstreet": "varchar(255)",
        "mailingcity": "varchar(40)",
        "mailingstate": "varchar(80)",
        "mailingpostalcode": "varchar(20)",
        "mailingcountry": "varchar(80)",
        "birthdate": "date",
        "accountid": "varchar(18)",
    },
    "opportunity": {
        "name": "varchar(120)",
        "accountid": "varchar(18)",
        "stagename": "varchar(255)",
        "isclosed": "boolean",
        "iswon": "boolean",
        "forecastcategoryname": "varchar(40)",
        "closedate": "date",
        "amount": "double precision",
        "currencyisocode": "varchar(3)",
        "probability": "double precision",
        "type": "varchar(255)",
        "leadsource": "varchar(255)",
        "ownerid": "varchar(18)",
    },
    "lead": {
        "firstname": "varchar(40)",
        "lastname": "varchar(80)",
        "company": "varchar(255)",
        "email": "varchar(80)",
        "phone": "varchar(40)",
        "mobilephone": "varchar(40)",
        "title": "varchar(128)",
        "website": "varchar(255)",
        "country": "varchar(80)",
        "status": "varchar(255)",
        "leadsource": "varchar(255)",
        "isconverted": "boolean",
        "converteddate": "date",
        "convertedaccountid": "varchar(18)",
        "convertedcontactid": "varchar(18)",
        "convertedopportunityid": "varchar(18)",
        "ownerid": "varchar(18)",
    },
    "opportunitycontactrole": {
        "opportunityid": "varchar(18)",
        "contactid": "varchar(18)",
        "role": "varchar(40)",
        "isprimary": "boolean",
    },
    "currencytype": {
        "isocode": "varchar(255)",
        "conversionrate": "double precision",
        "iscorporate": "boolean",
        "isactive": "boolean",
    },
    "datedconversionrate": {
        "isocode": "varchar(255)",
        "startdate": "date",
        "nextstartdate": "date",
        "conversionrate": "double precision",
    },
}


def demo_sfid(prefix: str, org: str, n: int) -> str:
    """A demo record's Salesforce id: its object's key prefix, the org, a number."""
    code = {"amer": "Am", "emea": "Em", "apac": "Ap"}.get(org, org[:2].title())
    return f"{prefix}{code}{n:013d}"


def live_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows Connect has synced (an sfid) that are not deleted."""
    if frame.empty:
        return frame
    return frame[frame["sfid"].notna() & ~frame["isdeleted"].fillna(False).astype(bool)]


def quote_ident(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(quoted_name(name, quote=True))


def create_connect_table(
    conn: Connection,
    schema: str,
    obj: str,
    extra_columns: dict[str, str] | None = None,
    omit_columns: tuple[str, ...] = (),
) -> None:
    """Create `<schema>.<obj>` as Connect would; `extra_columns` adds custom fields."""
    columns = {k: v for k, v in STANDARD_COLUMNS[obj].items() if k not in omit_columns}
    columns.update(extra_columns or {})
    q_schema = quote_ident(conn, schema)
    q_table = f"{q_schema}.{quote_ident(conn, obj)}"
    body = ",\n".join(
        [SYSTEM_COLUMNS] + [f"    {quote_ident(conn, c)} {t}" for c, t in columns.items()]
    )
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {q_schema}")
    conn.exec_driver_sql(f"CREATE TABLE {q_table} ({body})")
    # Connect indexes systemmodstamp for its own polling; org360 relies on it too.
    conn.exec_driver_sql(f"CREATE INDEX ON {q_table} (systemmodstamp)")
