"""The records one resolution works on, loaded once per run and process: the fit step
leaves them for the comparison steps that run beside it (the in-process executor,
`org360 run`), which would otherwise each load them again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dedupe.blocking import BlockKeys, block_keys, key_hashes
from dedupe.estimate import with_parameters
from dedupe.score import CodedColumns, entity_codes
from dedupe.settings import MatchSettings, stored_rules
from warehouse import resolution_state
from warehouse.frames import load_frame
from warehouse.match_model import stored_parameters
from warehouse.matchers import matcher_for


@dataclass
class Prepared:
    """What every comparison shard of one object works on, in one run."""

    features: pd.DataFrame
    settings: MatchSettings
    record_ids: np.ndarray
    previous: np.ndarray
    keys: BlockKeys | None = None
    coded: CodedColumns | None = None
    # Every record's blocking keys are stored already (by the fit step of this run).
    keys_saved: bool = False

    def columns(self) -> CodedColumns:
        if self.coded is None:
            self.coded = CodedColumns(self.features)
        return self.coded

    def block_keys(self) -> BlockKeys:
        if self.keys is None:
            model = self.settings
            self.keys = block_keys(
                self.features, model.blocking_rules, model.max_block_size, self.columns()
            )
        return self.keys


# Shards that run in one process (the in-process executor, `resolve_object`) share the
# loaded records and their features instead of each loading them again. Keyed by run.
PREPARED: dict[tuple[str, str, str], Prepared] = {}


def cache_key(engine: Engine, obj: str, run_key: str) -> tuple[str, str, str]:
    return (engine.url.render_as_string(hide_password=True), obj, run_key)


def prepare(
    frame: pd.DataFrame, features: pd.DataFrame, settings: MatchSettings, params: dict
) -> Prepared:
    return Prepared(
        features=features,
        settings=with_parameters(settings, params),
        record_ids=frame["record_id"].to_numpy(dtype=np.int64),
        previous=entity_codes(frame["previous"].to_numpy(dtype=object)),
    )


def prepared(engine: Engine, obj: str, settings: MatchSettings, run_key: str) -> Prepared:
    key = cache_key(engine, obj, run_key)
    if key not in PREPARED:
        params = stored_parameters(engine, obj)
        if params is None:
            raise RuntimeError(f"resolve.{obj}: no fitted model; the fit step runs first")
        frame = load_frame(engine, obj)
        features = matcher_for(obj).features(frame.reset_index(drop=True))
        PREPARED[key] = prepare(frame, features, settings, params)
    return PREPARED[key]


def save_block_keys(
    engine: Engine,
    obj: str,
    settings: MatchSettings,
    features: pd.DataFrame,
    coded: CodedColumns,
    record_ids: np.ndarray,
) -> None:
    """Every record's blocking keys, for the incremental runs that follow."""
    hashes = key_hashes(features, stored_rules(settings), coded)
    with engine.begin() as conn:
        resolution_state.save_block_keys(conn, obj, record_ids, hashes)


def forget(engine: Engine, obj: str, run_key: str) -> None:
    """Drop a run's records once its steps are done with them."""
    PREPARED.pop(cache_key(engine, obj, run_key), None)
