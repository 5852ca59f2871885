"""`org360 rates load`: rates for an org that syncs no rate tables, as a user loads them."""

import os

from sqlalchemy import text

from core.database import make_engine
from tests.helpers.cli import org360
from tests.helpers.orgs import seed_demo, write_config


def test_rates_load_reports_what_it_loaded_and_refuses_a_bad_file(database_url, tmp_path):
    seed_demo(database_url, companies=5)
    config = write_config(tmp_path / "org360.yaml", database_url)
    env = dict(os.environ)
    bad = tmp_path / "bad.csv"
    bad.write_text("org,isocode,conversionrate\napac,JPY,1\napac,EUR,zero\n")
    refused = org360("rates", "load", str(bad), "--config", str(config), env=env)
    assert refused.returncode == 2
    assert "line 3: conversionrate 'zero' must be a positive number" in refused.stderr
    assert "Traceback" not in refused.stderr

    good = tmp_path / "rates.csv"
    good.write_text("org,isocode,conversionrate,iscorporate\napac,JPY,1,true\napac,EUR,0.0062,\n")
    loaded = org360("rates", "load", str(good), "--config", str(config), env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "org apac: 2 rates loaded" in loaded.stdout
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rates = conn.execute(
            text(
                "SELECT isocode, rate, is_corporate FROM org360.currency_rate "
                "WHERE org = 'apac' AND source = 'file' ORDER BY isocode"
            )
        ).all()
    engine.dispose()
    assert [(r[0], float(r[1]), r[2]) for r in rates] == [
        ("EUR", 0.0062, False),
        ("JPY", 1.0, True),
    ]
