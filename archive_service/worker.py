"""A worker process: procrastinate's worker plus the janitor, restarted on failure.

Procrastinate stops its worker when the database goes away (heartbeats and the
LISTEN connection fail). This loop starts a fresh one with back-off until the
database is back, so a Postgres restart never needs anyone to restart the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import procrastinate

from archive_service.config import Runtime
from archive_service.janitor import Janitor
from archive_service.queue import QUEUE, Queue, make_app

logger = logging.getLogger(__name__)

MAX_RESTART_DELAY_SECONDS = 30.0


def run_worker(runtime: Runtime, concurrency: int = 1) -> None:
    asyncio.run(supervise(runtime, concurrency))


async def supervise(runtime: Runtime, concurrency: int, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    queue = Queue(runtime)
    janitor = Janitor(runtime, queue)
    delay = 1.0
    try:
        while not stop.is_set():
            try:
                await _run_once(runtime, concurrency, janitor, stop)
                delay = 1.0
            except Exception as exc:
                logger.warning("worker stopped (%s); restarting in %.0fs", _describe(exc), delay)
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
    finally:
        queue.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _run_once(
    runtime: Runtime, concurrency: int, janitor: Janitor, stop: asyncio.Event
) -> None:
    options = runtime.options
    connector = procrastinate.PsycopgConnector(
        conninfo=runtime.conninfo, min_size=1, max_size=concurrency + 3
    )
    app = make_app(connector, options)
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=options.heartbeat_seconds,
                stalled_worker_timeout=options.stalled_after_seconds,
                fetch_job_polling_interval=options.fetch_poll_seconds,
                # A SIGTERM waits this long for running jobs, then asks them to stop
                # between two batches; they are retried by the next worker.
                shutdown_graceful_timeout=options.shutdown_grace_seconds,
                additional_context={"runtime": runtime},
            ),
            name="procrastinate worker",
        )
        housekeeping = asyncio.create_task(janitor.run(app, stop), name="janitor")
        stopping = asyncio.create_task(stop.wait(), name="stop requested")
        try:
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            housekeeping.cancel()
            stopping.cancel()
            if not worker.done():
                worker.cancel()
            results = await asyncio.gather(worker, housekeeping, return_exceptions=True)
        error = results[0]
        if isinstance(error, BaseException) and not isinstance(error, asyncio.CancelledError):
            raise error
        if not stop.is_set():
            raise RuntimeError("procrastinate's worker stopped by itself")


def _describe(exc: BaseException) -> str:
    # Procrastinate's connector errors carry a blank message and the cause underneath.
    for error in (exc, exc.__cause__):
        if error is not None and str(error).strip():
            return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    return type(exc).__name__
