"""The procrastinate task a worker runs; its dependencies come from the worker's context."""

from __future__ import annotations

from procrastinate import JobContext

from archive_service.config import Runtime
from archive_service.errors import Interrupted
from archive_service.runner import JobRunner


def run_job(context: JobContext, job_id: str) -> str:
    runtime: Runtime = context.additional_context["runtime"]
    runner = JobRunner(runtime)
    try:
        return runner.run(job_id, should_stop=context.should_abort)
    except Interrupted:
        raise
    except Exception as exc:
        # Procrastinate retries with back-off; on the last attempt, say so on the job
        # itself, since nobody would retry it after that.
        if context.job.attempts + 1 >= runtime.options.job_max_attempts:
            runner.fail(job_id, f"gave up after {context.job.attempts + 1} attempts: {exc}")
        raise
