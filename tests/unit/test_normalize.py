import datetime as dt

import pandas as pd
import pytest

from dedupe import normalize as nz


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ACME GmbH", "acme"),
        ("The Acme Company, Inc.", "acme"),
        ("Société Générale S.A.", "societe generale"),
        ("Smith & Sons Ltd", "smith sons"),
        ("Smith and Sons Limited", "smith sons"),
        ("Toyota K.K.", "toyota"),
        ("Nordic Pty. Ltd.", "nordic"),
    ],
)
def test_company_key_drops_legal_forms_and_noise(raw, key):
    assert nz.company_key(raw) == key


def test_acronym_of_three_word_names():
    assert nz.acronym("international business machines") == "ibm"
    assert nz.acronym("acme labs") is None


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0132", "US", "+14155550132"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("030 1234567", "DE", "+49301234567"),
        ("0049 30 1234567", None, "+49301234567"),
        ("not a phone", "US", None),
    ],
)
def test_phones_become_e164_with_the_records_country(raw, region, expected):
    assert nz.e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("USA", "US"),
        ("U.S.", "US"),
        ("Deutschland", "DE"),
        ("United Kingdom", "GB"),
        ("England", "GB"),
        ("fr", "FR"),
        ("Côte d'Ivoire", "CI"),
        ("Holland", "NL"),
        ("España", "ES"),
        ("Narnia", None),
    ],
)
def test_countries_written_any_way(raw, code):
    assert nz.country_code(raw) == code


def test_country_frame_keeps_index_and_nulls():
    frame = nz.countries(pd.Series(["USA", None, "Atlantis"], index=[5, 6, 7]))
    assert frame.loc[5, "code"] == "US" and frame.loc[5, "name"] == "United States"
    assert frame.loc[6, "code"] is None and frame.loc[7, "code"] is None


def test_websites_reduce_to_domains():
    series = pd.Series(["https://www.Acme.co.uk/about", "acme.com", "http://x.io:8080/a?b", "n/a"])
    assert nz.website_domains(series).tolist() == ["acme.co.uk", "acme.com", "x.io", None]


def test_emails_lower_cased_and_validated():
    series = pd.Series(["  Jane.Doe@Example.COM ", "mailto:a@b.de", "not-an-email", None])
    assert nz.email_addresses(series).tolist() == ["jane.doe@example.com", "a@b.de", None, None]


def test_text_numbers_dates_and_currencies():
    assert nz.clean_text(pd.Series(["  a   b ", "   ", None])).tolist() == ["a b", None, None]
    assert nz.numbers(pd.Series(["1,200.5", "x", None])).tolist()[0] == 1200.5
    assert nz.dates(pd.Series(["1980-01-02", "02/31/1980"])).tolist() == [dt.date(1980, 1, 2), None]
    assert nz.currency_codes(pd.Series(["eur", "XXQ"])).tolist() == ["EUR", None]


def test_fold_and_street_keys():
    assert nz.fold("Müller-Lüdenscheidt") == "muller ludenscheidt"
    assert nz.street_key("12 Main Street") == nz.street_key("12 main st.")
    assert nz.postcode_key("ec1a 1bb") == "EC1A1BB"
