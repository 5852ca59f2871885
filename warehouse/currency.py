"""One reporting currency for every org's amounts, converted as Salesforce converts them.

Each org keeps its rates relative to its own corporate currency (rate 1): static rates
(`currencytype`) and, with advanced currency management, dated rates
(`datedconversionrate`) in force from a start date until the next one. An amount goes
org currency -> org corporate currency -> reporting currency, both rates from the same
org and in force on the record's date:

    amount_reporting = amount / rate(org, currency, day) * rate(org, reporting, day)

Rates come from each org's Connect tables (`stage_rates`, every staging run) or, for an
org that syncs none, from a CSV file (`load_rates_file`). A missing rate leaves the
converted amount null and is counted by org and currency: never a wrong number, never
a failed run. Rates that change mark the org's opportunities for rebuilding.
"""

from __future__ import annotations

import csv
import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from core.catalogue import ObjectSpec
from core.errors import ConfigError
from core.settings import CURRENCY_PATTERN, OrgSettings, Settings
from warehouse.golden import changed_ids
from warehouse.insert_time import InsertTime
from warehouse.sql import ident
from warehouse.staging import schema_exists, source_columns
from warehouse_sql import query

RATE_COLUMNS = ("isocode", "dated", "start_date", "next_start_date", "rate", "is_corporate")
FILE_COLUMNS = ("org", "isocode", "conversionrate")
FILE_OPTIONAL = ("startdate", "nextstartdate", "iscorporate")


class RatesError(ConfigError):
    """A rates file that cannot be loaded; nothing of it was."""


@dataclass
class RatesReport:
    org: str
    static: int = 0
    dated: int = 0
    changed: bool = False
    tables: list[str] = field(default_factory=list)


def _connect_rates(conn: Connection, org: OrgSettings) -> tuple[list[tuple], list[str]]:
    """The org's rates as its Connect tables hold them, and which tables it syncs."""
    rows: list[tuple] = []
    tables = []
    static = source_columns(conn, org.schema, "currencytype")
    if static and {"isocode", "conversionrate"} <= set(static):
        tables.append("currencytype")
        corporate = "iscorporate IS TRUE" if "iscorporate" in static else "false"
        rows += conn.execute(
            text(
                f"SELECT upper(isocode), false, CAST(NULL AS date), CAST(NULL AS date), "
                f"conversionrate, {corporate} "
                f"FROM {ident(conn, org.schema, 'currencytype')} "
                "WHERE isocode IS NOT NULL AND conversionrate > 0"
                + (" AND isdeleted IS NOT TRUE" if "isdeleted" in static else "")
            )
        ).all()
    dated = source_columns(conn, org.schema, "datedconversionrate")
    if dated and {"isocode", "conversionrate", "startdate"} <= set(dated):
        tables.append("datedconversionrate")
        until = "nextstartdate" if "nextstartdate" in dated else "CAST(NULL AS date)"
        rows += conn.execute(
            text(
                f"SELECT upper(isocode), true, startdate, {until}, conversionrate, false "
                f"FROM {ident(conn, org.schema, 'datedconversionrate')} "
                "WHERE isocode IS NOT NULL AND startdate IS NOT NULL AND conversionrate > 0"
                + (" AND isdeleted IS NOT TRUE" if "isdeleted" in dated else "")
            )
        ).all()
    return rows, tables


def _replace(conn: Connection, org: str, source: str, rows: list[tuple]) -> bool:
    """Make the org's rates from `source` exactly `rows`; whether anything changed."""
    # Open ends (a static rate's, a last dated rate's) are infinite dates there, None here.
    before = conn.execute(
        text(
            "SELECT isocode, dated, CASE WHEN start_date = '-infinity' THEN NULL "
            "ELSE start_date END, CASE WHEN next_start_date = 'infinity' THEN NULL "
            "ELSE next_start_date END, rate, is_corporate FROM org360.currency_rate "
            "WHERE org = :org AND source = :source"
        ),
        {"org": org, "source": source},
    ).all()
    if _comparable(before) == _comparable(rows):
        return False
    conn.execute(
        text("DELETE FROM org360.currency_rate WHERE org = :org AND source = :source"),
        {"org": org, "source": source},
    )
    if rows:
        # Several rows for one key (a rate entered twice): the last one read counts.
        unique = {(r[0], r[1], r[2]): r for r in rows}
        conn.execute(
            text(
                "INSERT INTO org360.currency_rate (org, source, isocode, dated, start_date, "
                "next_start_date, rate, is_corporate) VALUES (:org, :source, :isocode, :dated, "
                "coalesce(CAST(:start_date AS date), '-infinity'), "
                "coalesce(CAST(:next_start_date AS date), 'infinity'), :rate, :is_corporate)"
            ),
            [
                {"org": org, "source": source, **dict(zip(RATE_COLUMNS, r, strict=True))}
                for r in unique.values()
            ],
        )
    _mark_opportunities(conn, org)
    return True


def _comparable(rows) -> set[tuple]:
    """Rows as sets of plain values: 0.92 read as a float from a Connect table and as
    the numeric stored from it are one rate (a float's shortest repr is what was stored)."""
    return {tuple(_plain(v) for v in r) for r in rows}


def _plain(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
        return value
    return Decimal(repr(value) if isinstance(value, float) else value).normalize()


def _mark_opportunities(conn: Connection, org: str) -> None:
    """The org's opportunities are converted again at the next publication."""
    conn.execute(
        text(
            "INSERT INTO resolve.changed (object, org, sfid, moved) "
            "SELECT 'opportunity', org, sfid, false FROM unified.opportunity WHERE org = :org "
            "ON CONFLICT (object, org, sfid) DO NOTHING"
        ),
        {"org": org},
    )


def stage_rates(engine: Engine, org: OrgSettings) -> RatesReport:
    """Copy the org's Connect rate tables into `org360.currency_rate` (when it syncs
    them; an org that does not keeps the rates a file gave it)."""
    report = RatesReport(org=org.key)
    with engine.begin() as conn:
        if not schema_exists(conn, org.schema):
            return report
        rows, report.tables = _connect_rates(conn, org)
        report.static = sum(not r[1] for r in rows)
        report.dated = sum(bool(r[1]) for r in rows)
        report.changed = _replace(conn, org.key, "connect", rows)
    return report


def load_rates_file(engine: Engine, path: Path, settings: Settings) -> dict[str, int]:
    """Load rates from a CSV file (header: org,isocode,conversionrate and optionally
    startdate,nextstartdate,iscorporate), replacing the rates earlier files gave the
    orgs it names. All or nothing: a bad line loads nothing. Rates per org."""
    by_org: dict[str, list[tuple]] = {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in FILE_COLUMNS if c not in header]
            unknown = [c for c in header if c not in (*FILE_COLUMNS, *FILE_OPTIONAL)]
            if missing or unknown:
                raise RatesError(
                    f"{path}: the header must name {', '.join(FILE_COLUMNS)} and may name "
                    f"{', '.join(FILE_OPTIONAL)}"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unknown {', '.join(unknown)}" if unknown else "")
                )
            reader.fieldnames = header
            for line, row in enumerate(reader, start=2):
                org, rate_row = _file_row(path, line, row, settings)
                by_org.setdefault(org, []).append(rate_row)
    except OSError as error:
        raise RatesError(f"{path}: cannot read the rates file ({error.strerror})") from None
    with engine.begin() as conn:
        for org, rows in by_org.items():
            _replace(conn, org, "file", rows)
    return {org: len(rows) for org, rows in by_org.items()}


def _file_row(path: Path, line: int, row: dict, settings: Settings) -> tuple[str, tuple]:
    where = f"{path}, line {line}"
    org = (row.get("org") or "").strip()
    if org not in settings.org_keys:
        raise RatesError(
            f"{where}: org {org!r} is not configured (orgs: {', '.join(settings.org_keys)})"
        )
    code = (row.get("isocode") or "").strip().upper()
    if not CURRENCY_PATTERN.match(code):
        raise RatesError(f"{where}: isocode {row.get('isocode')!r} is not an ISO 4217 code")
    try:
        rate = Decimal((row.get("conversionrate") or "").strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate <= 0:
        raise RatesError(
            f"{where}: conversionrate {row.get('conversionrate')!r} must be a positive number "
            "(units of this currency per unit of the org's corporate currency)"
        )
    start = _file_date(where, "startdate", row.get("startdate"))
    until = _file_date(where, "nextstartdate", row.get("nextstartdate"))
    if until is not None and start is None:
        raise RatesError(f"{where}: nextstartdate needs a startdate")
    if start is not None and until is not None and until <= start:
        raise RatesError(f"{where}: nextstartdate must come after startdate")
    corporate = (row.get("iscorporate") or "").strip().lower() in ("true", "1", "yes")
    dated = start is not None
    return org, (code, dated, start, until, rate, corporate)


def _file_date(where: str, column: str, raw: str | None) -> datetime.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise RatesError(f"{where}: {column} {raw!r} is not a date (YYYY-MM-DD)") from None


@dataclass
class ConversionReport:
    """What a build could not convert or place: opportunities with an amount and no
    rate, by (org, currency); stages the org's map does not name, by (org, stage)."""

    missing_rates: Counter = field(default_factory=Counter)
    unmapped_stages: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """What a user should hear about, a line each."""
        out = [
            f"{count} opportunities of org {org!r} in {code} have no rate to the reporting "
            "currency (amount_reporting left empty; `org360 rates load` adds rates)"
            for (org, code), count in sorted(self.missing_rates.items())
        ]
        out += [
            f"{count} opportunities of org {org!r} are at stage {stage!r}, which its "
            "`stages:` map does not name (funnel_stage left empty)"
            for (org, stage), count in sorted(self.unmapped_stages.items())
        ]
        return out

    def metadata(self) -> dict[str, object]:
        return {
            "without_rate": sum(self.missing_rates.values()),
            "without_rate_by_org_currency": {
                f"{org}/{code}": n for (org, code), n in sorted(self.missing_rates.items())
            },
            "unmapped_stages": {
                f"{org}/{stage}": n for (org, stage), n in sorted(self.unmapped_stages.items())
            },
        }


class OpportunityComputer:
    """An opportunity's currency (the org's own where it has one), its amount in the
    reporting currency at the rates in force on its close date, its stage on the
    shared funnel."""

    reads = (("staging", "currency_rate"),)

    def prepare(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, full: bool
    ) -> InsertTime:
        conn.exec_driver_sql("DROP TABLE IF EXISTS org_currency, org_stage, opportunity_rate")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE org_currency (org varchar(40) PRIMARY KEY, currency char(3)) "
            "ON COMMIT DROP"
        )
        conn.exec_driver_sql(
            "CREATE TEMP TABLE org_stage (org varchar(40), stage text, funnel_stage text, "
            "PRIMARY KEY (org, stage)) ON COMMIT DROP"
        )
        if settings.orgs:
            conn.execute(
                text("INSERT INTO org_currency VALUES (:org, :currency)"),
                [{"org": o.key, "currency": o.currency} for o in settings.orgs],
            )
        stages = [
            {"org": o.key, "stage": stage, "funnel": funnel}
            for o in settings.orgs
            for stage, funnel in o.stages.items()
        ]
        if stages:
            conn.execute(text("INSERT INTO org_stage VALUES (:org, :stage, :funnel)"), stages)
        scope = "" if full else f"AND x.golden_id IN {changed_ids(spec.name)}"
        params = {"reporting": settings.reporting_currency}
        conn.execute(text(query("opportunity_rates", scope=scope)), params)
        conn.exec_driver_sql("ANALYZE opportunity_rate")
        code = "COALESCE(u.currency, oc.currency)"
        day = "COALESCE(u.close_date, CURRENT_DATE)"
        return InsertTime(
            joins=[
                "LEFT JOIN org_currency oc ON oc.org = u.org",
                "LEFT JOIN org_stage st ON st.org = u.org AND st.stage = u.stage",
                f"LEFT JOIN opportunity_rate src ON src.org = u.org AND src.code = {code} "
                f"AND src.day = {day}",
                "LEFT JOIN opportunity_rate tgt ON tgt.org = u.org "
                f"AND tgt.code = %(reporting)s AND tgt.day = {day}",
            ],
            values={
                "currency": code,
                "funnel_stage": "st.funnel_stage",
                "reporting_currency": "%(reporting)s",
                # Org currency -> org corporate currency -> reporting currency; NULL
                # without a rate.
                "amount_reporting": f"CASE WHEN u.amount IS NULL THEN NULL "
                f"WHEN {code} = %(reporting)s THEN u.amount "
                "ELSE u.amount / src.rate * tgt.rate END",
            },
            params=params,
        )

    def report(
        self, conn: Connection, settings: Settings, spec: ObjectSpec, prepared: InsertTime
    ) -> ConversionReport:
        """Gaps over every golden opportunity: what a reader of the reports misses."""
        report = ConversionReport()
        # Both gaps in one pass over the opportunities.
        for org, no_rate, code, unmapped, stage, count in conn.execute(
            text(
                "SELECT org, no_rate, coalesce(currency, '(none)'), unmapped, stage, count(*) "
                "FROM (SELECT org, currency, stage, "
                "amount IS NOT NULL AND amount_reporting IS NULL AS no_rate, "
                "org = ANY(:mapped) AND stage IS NOT NULL AND funnel_stage IS NULL AS unmapped "
                "FROM golden_next.opportunity) g WHERE no_rate OR unmapped "
                "GROUP BY org, no_rate, currency, unmapped, stage"
            ),
            {"mapped": [o.key for o in settings.orgs if o.stages]},
        ):
            if no_rate:
                report.missing_rates[(org, code)] += count
            if unmapped:
                report.unmapped_stages[(org, stage)] += count
        return report


OPPORTUNITY_COMPUTER = OpportunityComputer()
