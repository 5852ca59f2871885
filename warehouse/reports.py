"""The report tables of the next publication: each golden account's pipeline and open
leads summed up (`account_summary`) and the pipeline by account, org, funnel stage
and close month (`pipeline_by_month`), in the reporting currency.

Salesforce Connect cannot aggregate external objects, so these figures are computed
here and published with the rest. Rebuilt whole at every run: they are small beside
the records they sum, and an incremental run's few changes move sums all over.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from core.settings import Settings
from warehouse_sql import query

REPORTS = ("account_summary", "pipeline_by_month")


@dataclass(frozen=True)
class ReportRows:
    account_summary: int
    pipeline_by_month: int


def build_reports(engine: Engine, settings: Settings) -> ReportRows:
    params = {"reporting": settings.reporting_currency}
    with engine.begin() as conn:
        rows = {}
        for table in REPORTS:
            conn.exec_driver_sql(f"TRUNCATE golden_next.{table}")
            rows[table] = conn.execute(text(query(table)), params).rowcount
    return ReportRows(**rows)
