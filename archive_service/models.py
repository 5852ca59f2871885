"""The API's request and response bodies (also its OpenAPI document)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, get_args

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    model_validator,
)

from archive_service import sfid as sfid_module

MAX_IDS_PER_REQUEST = 100_000
MAX_WHERE_FIELDS = 20
Kind = Literal["archive", "unarchive"]
ObjectName = Literal["account", "contact"]
Status = Literal["queued", "running", "succeeded", "partial", "failed"]
Outcome = Literal[
    "archived",
    "already_archived",
    "pending_in_connect",
    "unarchived",
    "already_unarchived",
    "not_archived",
    "not_found",
]
# Every outcome a record can have; job counts list them all, zero or not.
OUTCOMES: tuple[str, ...] = get_args(Outcome)
OrgKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Sfid = Annotated[str, StringConstraints(pattern=sfid_module.PATTERN)]
ColumnName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
# Postgres text cannot hold NUL; other control characters are refused as typos.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]
CriteriaValue = Annotated[Text, StringConstraints(max_length=1000)] | bool | int | float | None
CallbackUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]


class Criteria(BaseModel):
    """Which records: every condition must hold (AND)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    modified_before: dt.datetime | None = Field(
        None, description="Last modified in Salesforce (systemmodstamp) before this instant."
    )
    older_than_days: int | None = Field(
        None, ge=1, le=36500, description="Not modified for this many days."
    )
    where: dict[ColumnName, CriteriaValue] = Field(
        default_factory=dict,
        max_length=MAX_WHERE_FIELDS,
        description="Column (Heroku Connect name) equals value; null means IS NULL.",
    )
    archived_before: dt.datetime | None = Field(
        None, description="Unarchive only: archived before this instant."
    )
    archive_job_id: uuid.UUID | None = Field(
        None, description="Unarchive only: the records this archive job archived."
    )

    def is_empty(self) -> bool:
        return not (
            self.modified_before
            or self.older_than_days
            or self.where
            or self.archived_before
            or self.archive_job_id
        )


class JobRequest(BaseModel):
    """Archive or unarchive records of one org and object, named by sfid or by criteria."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"org": "amer", "object": "contact", "sfids": ["003000000000001AAA"]},
                {
                    "org": "amer",
                    "object": "account",
                    "criteria": {"older_than_days": 730, "where": {"type": "Prospect"}},
                    "callback_url": "https://example.my.salesforce-sites.com/archive/done",
                },
            ]
        },
    )

    org: OrgKey
    object: ObjectName
    sfids: list[Sfid] | None = Field(None, min_length=1, max_length=MAX_IDS_PER_REQUEST)
    criteria: Criteria | None = None
    callback_url: CallbackUrl | None = Field(
        None, description="POSTed the job's final status when it completes (retried)."
    )
    requested_by: Annotated[Text, StringConstraints(max_length=255)] | None = Field(
        None, description="Who asked (e.g. the Salesforce user); kept on archived rows."
    )

    @model_validator(mode="after")
    def _one_selector(self) -> JobRequest:
        if (self.sfids is None) == (self.criteria is None):
            raise ValueError("send either 'sfids' (a non-empty list) or 'criteria', not both")
        if self.criteria is not None and self.criteria.is_empty():
            raise ValueError("criteria must set at least one condition")
        return self


class JobAccepted(BaseModel):
    job_id: str
    status: Status
    status_url: str


class CallbackState(BaseModel):
    url: str
    status: Literal["pending", "delivered", "failed"] | None
    attempts: int
    error: str | None


class JobStatus(BaseModel):
    job_id: str
    kind: Kind
    org: str
    object: ObjectName
    status: Status
    counts: dict[Outcome, int]
    total: int | None = Field(description="Records selected; null until criteria are resolved.")
    processed: int
    skipped_without_sfid: int = Field(
        description="Rows matched by criteria but not yet created in Salesforce (no sfid)."
    )
    error: str | None
    requested_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    callback: CallbackState | None


class RecordOutcome(BaseModel):
    sfid: str
    outcome: Outcome | None = Field(description="null: not processed yet")
    detail: str | None
    restored_sfid: str | None = Field(
        None, description="Unarchive: the new sfid, once Heroku Connect has written it."
    )


class RecordPage(BaseModel):
    records: list[RecordOutcome]
    next_after: str | None = Field(description="Pass as ?after= for the next page.")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[object] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody
