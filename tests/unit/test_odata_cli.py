import os

import pytest

from odata_service.cli import WORKERS_VAR, _workers_from_env


def test_workers_come_from_web_concurrency_else_one_per_cpu(monkeypatch):
    monkeypatch.setenv(WORKERS_VAR, "3")
    assert _workers_from_env() == 3
    monkeypatch.delenv(WORKERS_VAR)
    assert _workers_from_env() == (os.cpu_count() or 1)
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(WORKERS_VAR, bad)
        with pytest.raises(ValueError, match=WORKERS_VAR):
            _workers_from_env()
