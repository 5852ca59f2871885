"""Hear about each publication of golden records, so cached counts never outlive it.

`warehouse.publish` sends `NOTIFY org360_publication` in the transaction that
publishes (delivered when it commits). A thread of the service LISTENs on a connection
of its own and calls `on_publication` for each one, and after every (re)connection,
since a publication may have happened while it was not listening. Without a listener
(the database unreachable), counts still expire after their time to live.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable

import psycopg2
from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHANNEL = "org360_publication"
RECONNECT_SECONDS = 5.0


class PublicationListener:
    def __init__(self, engine: Engine, on_publication: Callable[[], None]) -> None:
        # The URL's own connection arguments: not the service's (read-only sessions).
        self._args, self._kwargs = engine.dialect.create_connect_args(engine.url)
        self._on_publication = on_publication
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="odata-publications", daemon=True)

    def start(self) -> PublicationListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg2.Error as exc:
                log.warning("not listening for publications (%s); retrying", exc)
                self._stop.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        conn = psycopg2.connect(*self._args, **self._kwargs)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self._on_publication()
            while not self._stop.is_set():
                readable, _, _ = select.select([conn], [], [], 1.0)
                if readable:
                    conn.poll()
                    if conn.notifies:
                        conn.notifies.clear()
                        self._on_publication()
        finally:
            conn.close()
