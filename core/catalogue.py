"""The objects org360 consolidates, each declared once: its fields, the Heroku Connect
column each is read from by default, how it survives into the golden record, its
Salesforce length, the record it points to (a contact's account), whether the OData
service shows it, and the names and search fields of the object's OData entity set.

Staging, the unified records, the golden records, the OData entity sets and the
config's validation read these declarations; a test checks the migrated tables
against them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field of the unified model.

    column: the Heroku Connect column (lower-case Salesforce API name) it is read
    from by default; None for a field an org maps in its `fields:` (or a derived one).
    derived: worked out by normalisation from other fields (a website's domain, a
    country's ISO code), never read from an org.
    length: Salesforce's length for text fields: longer values are cut to it.
    block: fields of one block (an address) survive together, from one record.
    golden: part of the golden record (a contact's account id is not: it becomes the
    golden account's id).
    exposed: shown by the OData service (identity numbers are not).
    parent: the object whose Salesforce id this field holds (a contact's account): the
    record is compared through its parent's cluster, and the golden record links to
    the parent's golden record.
    """

    name: str
    column: str | None = None
    derived: bool = False
    length: int | None = None
    block: str | None = None
    golden: bool = True
    exposed: bool = True
    parent: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """An object: its fields, and the names the OData service shows its golden records
    under (`entity_type`, in the plural the entity set) with the fields a search
    matches (`searchable`, field names)."""

    name: str
    fields: tuple[Field, ...]
    entity_type: str
    searchable: tuple[str, ...] = ()

    @property
    def entity_set(self) -> str:
        return f"{self.entity_type}s"

    @property
    def source_fields(self) -> tuple[str, ...]:
        """Fields read from the orgs (staged as text, mapped per org)."""
        return tuple(f.name for f in self.fields if not f.derived)

    @property
    def default_columns(self) -> dict[str, str]:
        return {f.name: f.column for f in self.fields if f.column and not f.derived}

    @property
    def unified_fields(self) -> tuple[str, ...]:
        """Every field of a unified record, derived ones included."""
        return tuple(f.name for f in self.fields)

    def golden_fields(self, block: str | None = None) -> tuple[str, ...]:
        """Golden fields that survive one by one (`block` None), or those of `block`."""
        return tuple(f.name for f in self.fields if f.golden and f.block == block)

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.block for f in self.fields if f.block))

    @property
    def lengths(self) -> dict[str, int]:
        return {f.name: f.length for f in self.fields if f.length is not None}

    @property
    def parents(self) -> dict[str, str]:
        """Field -> the object whose id it holds."""
        return {f.name: f.parent for f in self.fields if f.parent}

    @property
    def exposed_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.golden and f.exposed)


ACCOUNT = ObjectSpec(
    "account",
    (
        Field("name", "name", length=255),
        Field("website", "website", length=255),
        Field("domain", derived=True, length=255),
        Field("phone", "phone", length=40),
        Field("billing_street", "billingstreet", length=255, block="billing_address"),
        Field("billing_city", "billingcity", length=80, block="billing_address"),
        Field("billing_state", "billingstate", length=80, block="billing_address"),
        Field("billing_postcode", "billingpostalcode", length=20, block="billing_address"),
        Field("billing_country", "billingcountry", length=80, block="billing_address"),
        Field("billing_country_code", derived=True, length=2, block="billing_address"),
        Field("industry", "industry", length=255),
        Field("type", "type", length=255),
        Field("annual_revenue", "annualrevenue"),
        Field("currency", "currencyisocode", length=3),
        Field("employees", "numberofemployees"),
        # No standard column: each org maps its own (a D-U-N-S number, a VAT id).
        Field("registration_number", length=80),
    ),
    entity_type="Account",
    searchable=("name", "website", "phone"),
)

CONTACT = ObjectSpec(
    "contact",
    (
        Field("first_name", "firstname", length=40),
        Field("last_name", "lastname", length=80),
        Field("email", "email", length=80),
        Field("phone", "phone", length=40),
        Field("mobile_phone", "mobilephone", length=40),
        Field("title", "title", length=128),
        Field("mailing_street", "mailingstreet", length=255, block="mailing_address"),
        Field("mailing_city", "mailingcity", length=80, block="mailing_address"),
        Field("mailing_state", "mailingstate", length=80, block="mailing_address"),
        Field("mailing_postcode", "mailingpostalcode", length=20, block="mailing_address"),
        Field("mailing_country", "mailingcountry", length=80, block="mailing_address"),
        Field("mailing_country_code", derived=True, length=2, block="mailing_address"),
        Field("birthdate", "birthdate"),
        Field("national_id", length=80, exposed=False),
        Field("account_sfid", "accountid", length=18, golden=False, parent="account"),
    ),
    entity_type="Contact",
    # `name`: the golden contact's display name, first and last name together.
    searchable=("name", "email", "phone"),
)

CATALOGUE: dict[str, ObjectSpec] = {spec.name: spec for spec in (ACCOUNT, CONTACT)}
OBJECTS: tuple[str, ...] = tuple(CATALOGUE)
# Fields read from the orgs, and the columns read for them by default.
FIELDS: dict[str, tuple[str, ...]] = {o: s.source_fields for o, s in CATALOGUE.items()}
DEFAULT_SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    o: s.default_columns for o, s in CATALOGUE.items()
}
