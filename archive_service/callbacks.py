"""Completion callbacks, delivered from an outbox (archive.job's callback_* columns).

A finished job with a callback URL is marked `pending`; the worker that finished it
tries at once, and every worker's janitor retries due callbacks with exponential
back-off until one succeeds or the attempts run out. Each delivery holds the job row
locked (SKIP LOCKED), so two workers never post the same attempt.
"""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import text

from archive_service.config import Runtime
from archive_service.status import read_status

logger = logging.getLogger(__name__)

USER_AGENT = "org360-archive"


def deliver_due(runtime: Runtime, job_id: str | None = None, limit: int = 20) -> int:
    """Attempt the callbacks that are due (or only `job_id`'s); return how many were tried."""
    tried = 0
    while tried < limit:
        if not _deliver_one(runtime, job_id):
            break
        tried += 1
    return tried


def _deliver_one(runtime: Runtime, job_id: str | None) -> bool:
    options = runtime.options
    with runtime.engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT job_id, callback_url, callback_attempts FROM archive.job "
                "WHERE callback_status = 'pending' AND callback_next_at <= now() "
                "AND (CAST(:job_id AS varchar) IS NULL OR job_id = :job_id) "
                "ORDER BY callback_next_at LIMIT 1 FOR UPDATE SKIP LOCKED"
            ),
            {"job_id": job_id},
        ).first()
        if row is None:
            return False
        payload = read_status(conn, row.job_id).model_dump(mode="json")
        attempts = row.callback_attempts + 1
        error = _post(row.callback_url, payload, options.callback_timeout_seconds)
        if error is None:
            status, next_in = "delivered", None
        elif attempts >= options.callback_max_attempts:
            status, next_in = "failed", None
            logger.error("callback for job %s failed for good: %s", row.job_id, error)
        else:
            status, next_in = "pending", float(options.callback_retry_base_seconds**attempts)
            logger.warning(
                "callback for job %s failed (%s); retry in %ss", row.job_id, error, next_in
            )
        conn.execute(
            text(
                "UPDATE archive.job SET callback_status = :status, callback_attempts = :attempts, "
                "callback_error = :error, callback_next_at = CASE WHEN CAST(:next_in AS float) "
                "IS NULL THEN NULL ELSE now() + make_interval(secs => :next_in) END "
                "WHERE job_id = :job_id"
            ),
            {
                "status": status,
                "attempts": attempts,
                "error": error,
                "next_in": next_in,
                "job_id": row.job_id,
            },
        )
    return True


def _post(url: str, payload: dict, timeout: float) -> str | None:
    """POST the job status; None on a 2xx answer, else what went wrong."""
    try:
        response = httpx.post(
            url,
            json=payload,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"
