"""Bulk API 2.0 query jobs through simple-salesforce's `bulk2` client: create a
`queryAll` job, wait for it, and fetch its CSV results one page (`Sforce-Locator`) at a
time, each call under the connection's retry rules.

A page is streamed to a temporary file as it arrives (simple-salesforce's
`download_job_data`) and loaded into Postgres from there, so memory stays the same
whatever the page size and the org's.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceResourceNotFound

from salesforce_api.connection import OrgConnection, SalesforceSourceError

# Polls start quickly (small jobs finish in a second) and slow down to this.
MAX_POLL_SECONDS = 5.0


class JobGone(SalesforceSourceError):
    """Salesforce no longer has the job (deleted, or its results expired)."""


# Bytes read from the socket at a time while a page streams to its file.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Page:
    path: Path  # the page's CSV, header first
    records: int
    next_locator: str  # "" after the last page


def _client(sf, sobject: str):
    return getattr(sf.bulk2, sobject)._client


def create_job(connection: OrgConnection, sobject: str, soql: str) -> dict:
    """A `queryAll` job (soft-deleted records included, flagged IsDeleted)."""
    return connection.call(
        f"creating a Bulk API query job on {sobject}",
        lambda sf: _client(sf, sobject).create_job(Operation.query_all, soql),
    )


def job_info(connection: OrgConnection, sobject: str, job_id: str) -> dict:
    def get(sf):
        try:
            return _client(sf, sobject).get_job(job_id, True)
        except SalesforceResourceNotFound:
            raise JobGone(
                f"org {connection.org.key!r}: Bulk API query job {job_id} on {sobject} "
                "no longer exists"
            ) from None

    return connection.call(f"reading Bulk API query job {job_id} on {sobject}", get)


def wait_for_job(connection: OrgConnection, sobject: str, job_id: str) -> dict:
    """Poll until the job completes; a failed or aborted job is an error quoting
    Salesforce's message."""
    pause = 0.2
    while True:
        info = job_info(connection, sobject, job_id)
        state = info.get("state")
        if state == "JobComplete":
            return info
        if state in ("Failed", "Aborted"):
            raise SalesforceSourceError(
                f"org {connection.org.key!r}: the Bulk API query job {job_id} on {sobject} "
                f"{state.lower()}: {info.get('errorMessage') or 'Salesforce gave no reason'}"
            )
        time.sleep(pause)
        pause = min(MAX_POLL_SECONDS, pause * 1.5)


@contextlib.contextmanager
def fetch_page(
    connection: OrgConnection, sobject: str, job_id: str, locator: str, page_size: int
) -> Iterator[Page]:
    """One page of results, in a file removed afterwards. Fetching the same locator
    again gives the same page, so a page cut off in transit is simply asked for again."""
    with tempfile.TemporaryDirectory(prefix="org360-page-") as folder:

        def get(sf):
            for leftover in Path(folder).iterdir():  # a page cut off in an earlier try
                leftover.unlink()
            try:
                result = _client(sf, sobject).download_job_data(
                    folder, job_id, locator, page_size, chunk_size=CHUNK_BYTES
                )
            except SalesforceResourceNotFound:
                raise JobGone(
                    f"org {connection.org.key!r}: the results of Bulk API query job {job_id} "
                    f"on {sobject} are gone"
                ) from None
            return Page(Path(result["file"]), result["number_of_records"], result["locator"] or "")

        yield connection.call(f"reading results of Bulk API query job {job_id} on {sobject}", get)


def page_header(page: Page) -> list[str]:
    """The column names of a page (its first CSV line)."""
    with page.path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def page_is_empty(page: Page) -> bool:
    return page.records == 0 or os.path.getsize(page.path) == 0


def delete_job(connection: OrgConnection, sobject: str, job_id: str) -> None:
    """Tidy up a finished job (Salesforce would expire it anyway): failures are ignored."""
    try:
        connection.call(
            f"deleting Bulk API query job {job_id}",
            lambda sf: _client(sf, sobject).delete_job(job_id, True),
        )
    except SalesforceSourceError:
        pass
    except ValueError:  # an empty 204 body is not JSON
        pass
