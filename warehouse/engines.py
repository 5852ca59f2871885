"""The database engines the pipeline and the command line share."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from core.database import make_engine
from warehouse.tables import migrate

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine per URL per process, migrated on first use."""
    with _lock:
        if url not in _engines:
            engine = make_engine(url)
            migrate(engine)
            _engines[url] = engine
        return _engines[url]
