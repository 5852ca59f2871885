"""A config given as the text of $ORG360_CONFIG_YAML (a platform's config var) is
the config every command reads; a config file named by $ORG360_CONFIG wins."""

from core.settings import config_from_environment, load_settings

CONFIG = "orgs:\n  - {key: amer, schema: sf_amer}\nreporting_currency: EUR\n"


def test_the_config_text_becomes_the_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("ORG360_CONFIG", raising=False)
    monkeypatch.setenv("ORG360_CONFIG_YAML", CONFIG)
    written = config_from_environment(tmp_path / "home")
    assert written == tmp_path / "home" / "org360.yaml"
    settings = load_settings()
    assert settings.org_keys == ["amer"] and settings.reporting_currency == "EUR"


def test_a_named_config_file_wins(tmp_path, monkeypatch):
    own = tmp_path / "own.yaml"
    own.write_text("orgs:\n  - {key: emea, schema: sf_emea}\n")
    monkeypatch.setenv("ORG360_CONFIG", str(own))
    monkeypatch.setenv("ORG360_CONFIG_YAML", CONFIG)
    assert config_from_environment(tmp_path / "home") is None
    assert load_settings().org_keys == ["emea"]
