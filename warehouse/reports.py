"""The report tables of the next publication: each golden account's pipeline and open
leads summed up (`account_summary`) and the pipeline by account, org, funnel stage
and close month (`pipeline_by_month`), in the reporting currency.

Salesforce Connect cannot aggregate external objects, so these figures are computed
here and published with the rest. Built whole when the golden records are, and when
the year or the reporting currency changed since the last build; otherwise only the
rows of the golden accounts a changed opportunity, lead or account touches (noted
in `golden_next.report_scope` for the publication).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from core.settings import Settings
from warehouse import resolution_state
from warehouse.golden import rebuild_all
from warehouse.sql import bulk_loaded, plan_for_few_rows
from warehouse_sql import query

REPORTS = ("account_summary", "pipeline_by_month")
# resolve.state: the year and reporting currency the reports were last built for.
_STATE = "reports"
_ALL_OPPORTUNITIES, _ALL_LEADS = "golden_next.opportunity", "golden_next.lead"


@dataclass(frozen=True)
class ReportRows:
    """Rows written: every row of each table, or (incremental) the scope's."""

    account_summary: int
    pipeline_by_month: int
    incremental: bool = False


def _period(conn: Connection, settings: Settings) -> str:
    # "This year" is the database's UTC year, as in the queries.
    year = conn.execute(text("SELECT extract(year FROM now() AT TIME ZONE 'UTC')")).scalar_one()
    return f"{int(year)}/{settings.reporting_currency}"


def build_reports(engine: Engine, settings: Settings) -> ReportRows:
    params = {"reporting": settings.reporting_currency}
    with engine.begin() as conn:
        period = _period(conn, settings)
        last = resolution_state.load_state(conn, _STATE)
        publication_whole = rebuild_all(conn)
        whole = publication_whole or last is None or last.fingerprint != period
        rows = {}
        if whole:
            conn.exec_driver_sql("TRUNCATE golden_next.report_scope")
            if not publication_whole:
                # The publication compares only the scope's rows: here, all of them.
                conn.exec_driver_sql(query("report_scope_everything"))
            for table in REPORTS:
                conn.exec_driver_sql(f"TRUNCATE golden_next.{table}")
                sql = query(table, opportunities=_ALL_OPPORTUNITIES, leads=_ALL_LEADS)
                # Filled, then indexed: a row per opportunity at most, hashed keys.
                with bulk_loaded(conn, "golden_next", table):
                    rows[table] = conn.execute(text(sql), params).rowcount
        else:
            plan_for_few_rows(conn)
            rows = _rebuild_scope(conn, params)
        resolution_state.save_state(conn, _STATE, resolution_state.ResolveState(0, period))
    return ReportRows(**rows, incremental=not whole)


def _rebuild_scope(conn: Connection, params: dict) -> dict[str, int]:
    """Rewrite the report rows of the accounts this build's changes touch."""
    conn.exec_driver_sql(query("report_scope"))
    conn.exec_driver_sql("ANALYZE golden_next.report_scope")
    scope = "SELECT golden_account_id FROM golden_next.report_scope"
    without_account = (
        "EXISTS (SELECT 1 FROM golden_next.report_scope WHERE golden_account_id IS NULL)"
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE report_opportunity ON COMMIT DROP AS "
        f"SELECT * FROM golden_next.opportunity WHERE golden_account_id IN ({scope}) "
        "UNION ALL SELECT * FROM golden_next.opportunity "
        f"WHERE golden_account_id IS NULL AND {without_account}"
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE report_lead ON COMMIT DROP AS "
        f"SELECT * FROM golden_next.lead WHERE golden_account_id IN ({scope})"
    )
    conn.exec_driver_sql(f"DELETE FROM golden_next.account_summary WHERE golden_id IN ({scope})")
    conn.exec_driver_sql(
        f"DELETE FROM golden_next.pipeline_by_month WHERE golden_account_id IN ({scope})"
    )
    conn.exec_driver_sql(
        "DELETE FROM golden_next.pipeline_by_month "
        f"WHERE golden_account_id IS NULL AND {without_account}"
    )
    return {
        table: conn.execute(
            text(query(table, opportunities="report_opportunity", leads="report_lead")), params
        ).rowcount
        for table in REPORTS
    }
