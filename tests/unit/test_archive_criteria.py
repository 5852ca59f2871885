import datetime as dt
import uuid

import pytest
from sqlalchemy.dialects import postgresql

from archive_service.criteria import check_columns, predicates, source_table
from archive_service.errors import InvalidCriteria
from archive_service.models import Criteria

NOW = dt.datetime(2025, 6, 1, 12, 0)


def compile_where(kind: str, criteria: Criteria) -> str:
    table = source_table(kind, criteria, "amer_sf", "account")
    clauses = predicates(kind, criteria, table, NOW)
    compiled = [
        str(c.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        for c in clauses
    ]
    return " AND ".join(compiled)


def test_archive_criteria_compile_to_quoted_columns_and_values():
    criteria = Criteria(
        older_than_days=30,
        modified_before=dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        where={"Type": "Prospect", "annualrevenue": None, "isdeleted": False},
    )
    sql = compile_where("archive", criteria)
    assert "amer_sf.account.systemmodstamp < '2023-12-31 23:00:00'" in sql
    assert "amer_sf.account.systemmodstamp < '2025-05-02 12:00:00'" in sql
    assert "amer_sf.account.\"Type\" = 'Prospect'" in sql
    assert "amer_sf.account.annualrevenue IS NULL" in sql
    assert "amer_sf.account.isdeleted = 'false'" in sql
    assert "restored_at" not in sql


def test_unarchive_criteria_only_select_records_still_archived():
    job = uuid.uuid4()
    sql = compile_where("unarchive", Criteria(archive_job_id=job))
    assert "restored_at IS NULL" in sql and f"archive_job_id = '{job}'" in sql


def test_criteria_naming_unknown_columns_are_refused_with_the_names():
    with pytest.raises(InvalidCriteria, match="colour__c") as error:
        check_columns("archive", Criteria(where={"colour__c": "red"}), ["sfid", "name"], "x.y")
    assert error.value.details == ["colour__c"]


def test_unarchive_only_criteria_are_refused_for_archive_jobs():
    with pytest.raises(InvalidCriteria, match="unarchive"):
        check_columns("archive", Criteria(archive_job_id=uuid.uuid4()), ["sfid"], "x.y")
