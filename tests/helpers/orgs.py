"""Seed demo orgs into a test database and write a config pointing at it."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import text

from core.database import make_engine
from demo.generator import DemoData, DemoGenerator
from demo.seed import DEMO_ORGS, seed


def seed_demo(database_url: str, companies: int = 60, seed_value: int = 11) -> DemoData:
    data = DemoGenerator(companies=companies, seed=seed_value).generate()
    engine = make_engine(database_url)
    seed(engine, data)
    engine.dispose()
    return data


def write_config(path: Path, database_url: str, orgs: list[dict] | None = None, **settings) -> Path:
    """A config for the demo orgs (or `orgs`), with any other top-level `settings`."""
    config = {"database_url": database_url, "orgs": orgs or [dict(o) for o in DEMO_ORGS]}
    config |= settings
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def golden_value(engine, obj: str, org: str, sfid: str, column: str):
    """`column` of the published golden record that source record org/sfid belongs to."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT g.{column} FROM golden.{obj} g JOIN golden.xref x USING (golden_id) "
                "WHERE x.object = :obj AND x.org = :org AND x.sfid = :sfid"
            ),
            {"obj": obj, "org": org, "sfid": sfid},
        ).scalar_one()
