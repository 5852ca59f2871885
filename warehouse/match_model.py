"""The fitted match model of each object, stored in `org360.match_model` and reused
while the data stay about the same size, so reruns score the same pairs the same way."""

from __future__ import annotations

import json

from sqlalchemy import Connection, Engine, text

from dedupe.estimate import with_parameters
from dedupe.settings import MatchSettings

# Refit the model's u values and prior when the data grew or shrank by more than this.
REFIT_CHANGE = 0.10


def stored_parameters(engine: Engine, obj: str) -> dict | None:
    with engine.connect() as conn:
        return load_parameters(conn, obj)


def load_parameters(conn: Connection, obj: str) -> dict | None:
    """`obj`'s stored parameters, read in the caller's transaction."""
    return conn.execute(
        text("SELECT parameters FROM org360.match_model WHERE object = :obj"), {"obj": obj}
    ).scalar()


def stored_model(engine: Engine, obj: str) -> tuple[dict, object] | None:
    """The stored parameters and when they were fitted, or None before the first fit."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT parameters, fitted_at FROM org360.match_model WHERE object = :obj"),
            {"obj": obj},
        ).one_or_none()
    return None if row is None else (row.parameters, row.fitted_at)


def store_parameters(engine: Engine, obj: str, params: dict) -> None:
    with engine.begin() as conn:
        save_parameters(conn, obj, params)


def save_parameters(conn: Connection, obj: str, params: dict) -> None:
    """Store `obj`'s fitted parameters in the caller's transaction."""
    conn.execute(
        text(
            "INSERT INTO org360.match_model (object, parameters) "
            "VALUES (:obj, CAST(:params AS jsonb)) "
            "ON CONFLICT (object) DO UPDATE SET parameters = excluded.parameters, "
            "fitted_at = now()"
        ),
        {"obj": obj, "params": json.dumps(params)},
    )


def model_for(engine: Engine, obj: str, settings: MatchSettings) -> MatchSettings:
    params = stored_parameters(engine, obj)
    if params is None:
        raise RuntimeError(f"resolve.{obj}: no fitted model; the fit step runs first")
    return with_parameters(settings, params)
