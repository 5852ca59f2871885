"""A large change set is read and normalised by worker processes, each reading its own
batches of staged rows on a connection of its own: the unified records are those the
unifying process writes when it reads and normalises them itself."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

import warehouse.unified as unified
from pipelines.runner import run_all
from tests.helpers.orgs import seed_demo, write_config

_COMPARED = "SELECT * FROM unified.{obj} ORDER BY org, sfid"


def _records(engine, obj: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(_COMPARED.format(obj=obj)), conn)
    return frame.drop(columns=["record_id", "change_seq"])


def test_workers_unify_what_the_process_itself_does(database_url, engine, tmp_path, monkeypatch):
    seed_demo(database_url, companies=40)
    run_all(write_config(tmp_path / "org360.yaml", database_url))
    for obj in ("contact", "opportunity"):
        expected = _records(engine, obj)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE unified.{obj}")
            conn.execute(
                text("UPDATE org360.progress SET change_seq = 0 WHERE stage = :s"),
                {"s": f"unified.{obj}"},
            )
        monkeypatch.setattr(unified, "PARALLEL_MIN_ROWS", 1)
        # Batches of 20 rows: several per worker, returned in order.
        report = unified.unify(engine, obj, batch_size=20)
        assert report.batches == -(-len(expected) // 20) > 4
        assert report.normalised == len(expected)
        pd.testing.assert_frame_equal(_records(engine, obj), expected)
