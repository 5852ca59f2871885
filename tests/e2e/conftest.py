import pytest


@pytest.fixture(autouse=True)
def _dagster_home(tmp_path, monkeypatch):
    """Each test's Dagster runs go to an instance of its own."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
