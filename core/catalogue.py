"""The objects org360 consolidates: each one's unified fields, and the Heroku Connect
column (lower-case Salesforce API name) each field is read from by default."""

from __future__ import annotations

ACCOUNT_FIELDS: tuple[str, ...] = (
    "name",
    "website",
    "phone",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_postcode",
    "billing_country",
    "industry",
    "type",
    "annual_revenue",
    "currency",
    "employees",
    "registration_number",
)

CONTACT_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile_phone",
    "title",
    "mailing_street",
    "mailing_city",
    "mailing_state",
    "mailing_postcode",
    "mailing_country",
    "birthdate",
    "national_id",
    "account_sfid",
)

FIELDS: dict[str, tuple[str, ...]] = {
    "account": ACCOUNT_FIELDS,
    "contact": CONTACT_FIELDS,
}

# Heroku Connect column (lower-case Salesforce API name) for each unified field.
# Fields without a standard column (registration_number, national_id) are mapped per org.
DEFAULT_SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "account": {
        "name": "name",
        "website": "website",
        "phone": "phone",
        "billing_street": "billingstreet",
        "billing_city": "billingcity",
        "billing_state": "billingstate",
        "billing_postcode": "billingpostalcode",
        "billing_country": "billingcountry",
        "industry": "industry",
        "type": "type",
        "annual_revenue": "annualrevenue",
        "currency": "currencyisocode",
        "employees": "numberofemployees",
    },
    "contact": {
        "first_name": "firstname",
        "last_name": "lastname",
        "email": "email",
        "phone": "phone",
        "mobile_phone": "mobilephone",
        "title": "title",
        "mailing_street": "mailingstreet",
        "mailing_city": "mailingcity",
        "mailing_state": "mailingstate",
        "mailing_postcode": "mailingpostalcode",
        "mailing_country": "mailingcountry",
        "birthdate": "birthdate",
        "account_sfid": "accountid",
    },
}

OBJECTS: tuple[str, ...] = tuple(FIELDS)
