"""The objects org360 consolidates, each declared once: its Heroku Connect table and the
column each field is read from by default, each field's kind (how it is cleaned,
stored and compared), how it survives into the golden record, its Salesforce length,
the record it points to (a contact's account), how its duplicates are found, and the
names and search fields of its OData entity set.

Staging, the unified records, resolution, the golden records, the tables themselves
(`warehouse.tables`), the OData entity sets and the config's validation read these
declarations. Adding an object is one `ObjectSpec`; an installation adds its own
(custom objects such as `Partner__c`) in a module named by `ORG360_OBJECTS` (see
`docs/objects.md`), read once when this module is first imported, so every process of
a deployment (web, workers, Dagster's code servers and runs) sees the same catalogue.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass

from core.errors import ConfigError

# How a field is cleaned, stored and (where matched) compared. `dedupe.kinds` cleans
# and compares; `warehouse.tables` stores.
KINDS = (
    "text",  # cleaned text, cut to its length
    "company",  # a company's name: compared without legal forms and noise words
    "person_name",  # a first or last name
    "email",
    "phone",  # stored in E.164
    "url",
    "identifier",  # a registration or national number: compared typo-tolerantly
    "country_code",  # ISO 3166 alpha-2
    "currency",  # ISO 4217 code
    "date",
    "datetime",
    "number",
    "integer",
    "boolean",
    "sfid",  # a Salesforce id (a parent record's)
)
# Kinds a generic matcher can compare.
MATCHABLE_KINDS = ("text", "company", "person_name", "email", "phone", "url", "identifier", "date")

# Columns every table of an object has besides its fields.
RESERVED = frozenset(
    {
        "org",
        "sfid",
        "record_id",
        "golden_id",
        "systemmodstamp",
        "hc_lastop",
        "hc_failed",
        "change_seq",
        "completeness",
        "member_count",
        "orgs",
        "provenance",
        "last_modified",
        "main_org_sfid",
        "created_at",
        "updated_at",
    }
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PREFIX = re.compile(r"^[A-Z]{2}$")
_ENTITY = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# Longest object name: it is a key in tables sized for it (varchar(16)).
MAX_OBJECT_NAME = 16


@dataclass(frozen=True)
class Field:
    """One field of the unified model.

    column: the Heroku Connect column (lower-case Salesforce API name) it is read
    from by default; None for a field an org maps in its `fields:` (or a derived one).
    kind: how it is cleaned, stored and compared (`KINDS`).
    derived: worked out by normalisation from other fields (a website's domain, a
    country's ISO code), never read from an org.
    length: Salesforce's length for text fields: longer values are cut to it.
    block: fields of one block (an address) survive together, from one record.
    golden: part of the golden record (a contact's account id is not: it becomes the
    golden account's id).
    exposed: shown by the OData service (identity numbers are not).
    parent: the object whose Salesforce id this field holds (a contact's account): the
    record is compared through its parent's cluster, and the golden record links to
    the parent's golden record, in the column `link` (`<parent>_golden_id` unless set).
    computed: a golden column worked out when the golden record is built (an amount in
    the reporting currency, `warehouse.computed`), neither read from the orgs nor
    unified.
    refers: for a computed column, the object whose golden id it holds (the golden
    contact a lead was found to be): the OData service navigates it like a parent's.
    """

    name: str
    column: str | None = None
    kind: str = "text"
    derived: bool = False
    length: int | None = None
    block: str | None = None
    golden: bool = True
    exposed: bool = True
    parent: str | None = None
    link: str | None = None
    computed: bool = False
    refers: str | None = None


@dataclass(frozen=True)
class ObjectSpec:
    """An object: its fields, and how its records become golden records.

    table: its Heroku Connect table (the object's name unless set: `partner__c`).
    entity_type: the name the OData service shows its golden records under (the
    entity set is the plural) with the fields a search matches (`searchable`).
    golden_prefix: the two letters that start its golden ids (GA..., GC...).
    label: the fields that name a golden record, joined by a space; where they are
    all empty, the first of `label_fallbacks` that is not, else org/sfid.
    matched: the fields a generic matcher compares (by their kinds) to find
    duplicates; empty for an object with a tuned matcher of its own
    (`dedupe.matcher.TUNED`: accounts and contacts) or one that is not resolved.
    resolved: whether duplicates are looked for at all; an object that is not (an
    opportunity) gets one golden record per source record, linked to its parents'.
    description: what one golden record is, for the Dagster UI and the docs.
    plural: the entity set's name, where adding an s will not do (Opportunities).
    review_rule: for an object that is not resolved, the named query
    (`warehouse_sql/queries/<rule>.sql`) that puts likely duplicates of its golden
    records to the stewards at every run (deals entered in two orgs; an incremental
    build looks among the records its change reaches).
    word_index: golden names indexed word by word, so a search by name is answered at
    once among millions (kept on every change; worth it where people search by name).
    summed_by: the golden column holding the golden account its records are summed
    under in the report tables (`warehouse.reports`); the next publication's table is
    indexed by it, as an incremental build looks them up by account.
    """

    name: str
    fields: tuple[Field, ...]
    entity_type: str
    golden_prefix: str
    label: tuple[str, ...]
    description: str
    table: str | None = None
    searchable: tuple[str, ...] = ()
    label_fallbacks: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    resolved: bool = True
    plural: str | None = None
    word_index: bool = True
    review_rule: str | None = None
    summed_by: str | None = None

    @property
    def source_table(self) -> str:
        return self.table or self.name

    @property
    def entity_set(self) -> str:
        return self.plural or f"{self.entity_type}s"

    @property
    def plural_name(self) -> str:
        """The object's name in the plural, as messages and check names use it."""
        return self.plural.lower() if self.plural else f"{self.name}s"

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}.{name}")

    @property
    def source_fields(self) -> tuple[str, ...]:
        """Fields read from the orgs (staged as text, mapped per org)."""
        return tuple(f.name for f in self.fields if not f.derived and not f.computed)

    @property
    def default_columns(self) -> dict[str, str]:
        return {f.name: f.column for f in self.fields if f.column and not f.derived}

    @property
    def unified_fields(self) -> tuple[str, ...]:
        """Every field of a unified record, derived ones included."""
        return tuple(f.name for f in self.fields if not f.computed)

    @property
    def unified_specs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.computed)

    def golden_fields(self, block: str | None = None) -> tuple[str, ...]:
        """Golden fields that survive one by one (`block` None), or those of `block`."""
        return tuple(
            f.name for f in self.fields if f.golden and f.block == block and not f.computed
        )

    @property
    def computed_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.computed)

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.block for f in self.fields if f.block))

    @property
    def lengths(self) -> dict[str, int]:
        return {f.name: f.length for f in self.fields if f.length is not None}

    @property
    def kinds(self) -> dict[str, str]:
        return {f.name: f.kind for f in self.fields}

    @property
    def parents(self) -> dict[str, str]:
        """Field -> the object whose id it holds."""
        return {f.name: f.parent for f in self.fields if f.parent}

    @property
    def parent_links(self) -> dict[str, tuple[str, str]]:
        """Field -> (the object whose id it holds, the golden column holding that
        record's golden id)."""
        return {
            f.name: (f.parent, f.link or f"{f.parent}_golden_id") for f in self.fields if f.parent
        }

    @property
    def references(self) -> dict[str, str]:
        """Computed golden column -> the object whose golden id it holds."""
        return {f.name: f.refers for f in self.fields if f.refers}

    def link_to(self, parent: str) -> str:
        """The golden column that holds the golden id of this object's `parent`."""
        for of, column in self.parent_links.values():
            if of == parent:
                return column
        raise KeyError(f"{self.name} has no parent {parent}")

    @property
    def exposed_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.golden and f.exposed)

    @property
    def name_is_a_field(self) -> bool:
        """Whether the golden record's `name` is one of its fields (an account's), or a
        column of its own made from `label` (a contact's first and last name)."""
        return self.label == ("name",)

    @property
    def name_length(self) -> int:
        """The golden `name` column's length: the label's fields and the spaces between."""
        lengths = [self.field(f).length or 255 for f in self.label]
        return sum(lengths) + len(lengths) - 1


ACCOUNT = ObjectSpec(
    "account",
    (
        Field("name", "name", "company", length=255),
        Field("website", "website", "url", length=255),
        Field("domain", kind="url", derived=True, length=255),
        Field("phone", "phone", "phone", length=40),
        Field("billing_street", "billingstreet", length=255, block="billing_address"),
        Field("billing_city", "billingcity", length=80, block="billing_address"),
        Field("billing_state", "billingstate", length=80, block="billing_address"),
        Field("billing_postcode", "billingpostalcode", length=20, block="billing_address"),
        Field("billing_country", "billingcountry", length=80, block="billing_address"),
        Field(
            "billing_country_code",
            kind="country_code",
            derived=True,
            length=2,
            block="billing_address",
        ),
        Field("industry", "industry", length=255),
        Field("type", "type", length=255),
        Field("annual_revenue", "annualrevenue", "number"),
        Field("currency", "currencyisocode", "currency", length=3),
        Field("employees", "numberofemployees", "integer"),
        # No standard column: each org maps its own (a D-U-N-S number, a VAT id).
        Field("registration_number", kind="identifier", length=80),
    ),
    entity_type="Account",
    golden_prefix="GA",
    label=("name",),
    label_fallbacks=("domain", "registration_number"),
    description="Golden accounts: one row per real-world company, with provenance.",
    searchable=("name", "website", "phone"),
)

CONTACT = ObjectSpec(
    "contact",
    (
        Field("first_name", "firstname", "person_name", length=40),
        Field("last_name", "lastname", "person_name", length=80),
        Field("email", "email", "email", length=80),
        Field("phone", "phone", "phone", length=40),
        Field("mobile_phone", "mobilephone", "phone", length=40),
        Field("title", "title", length=128),
        Field("mailing_street", "mailingstreet", length=255, block="mailing_address"),
        Field("mailing_city", "mailingcity", length=80, block="mailing_address"),
        Field("mailing_state", "mailingstate", length=80, block="mailing_address"),
        Field("mailing_postcode", "mailingpostalcode", length=20, block="mailing_address"),
        Field("mailing_country", "mailingcountry", length=80, block="mailing_address"),
        Field(
            "mailing_country_code",
            kind="country_code",
            derived=True,
            length=2,
            block="mailing_address",
        ),
        Field("birthdate", "birthdate", "date"),
        Field("national_id", kind="identifier", length=80, exposed=False),
        Field("account_sfid", "accountid", "sfid", length=18, golden=False, parent="account"),
    ),
    entity_type="Contact",
    golden_prefix="GC",
    label=("first_name", "last_name"),
    label_fallbacks=("email",),
    description="Golden contacts: one row per real-world person, linked to a golden account.",
    # `name`: the golden contact's display name, first and last name together.
    searchable=("name", "email", "phone"),
)

OPPORTUNITY = ObjectSpec(
    "opportunity",
    (
        Field("name", "name", length=120),
        Field(
            "account_sfid",
            "accountid",
            "sfid",
            length=18,
            golden=False,
            parent="account",
            link="golden_account_id",
        ),
        Field("stage", "stagename", length=255),
        Field("is_closed", "isclosed", "boolean"),
        Field("is_won", "iswon", "boolean"),
        Field("forecast_category", "forecastcategoryname", length=40),
        Field("close_date", "closedate", "date"),
        Field("amount", "amount", "number"),
        # Null in an org without multiple currencies: the org's `currency` in the config.
        Field("currency", "currencyisocode", "currency", length=3),
        Field("probability", "probability", "number"),
        Field("type", "type", length=255),
        Field("lead_source", "leadsource", length=255),
        Field("owner_sfid", "ownerid", "sfid", length=18),
        Field("created_date", "createddate", "datetime"),
        # The org's stage on the shared funnel (the config's `stages:`), and the amount
        # in the reporting currency at the rate in force on the close date.
        Field("funnel_stage", kind="text", length=255, computed=True),
        Field("amount_reporting", kind="number", computed=True),
        Field("reporting_currency", kind="currency", length=3, computed=True),
    ),
    entity_type="Opportunity",
    plural="Opportunities",
    golden_prefix="GO",
    label=("name",),
    description="Opportunities: one row per live source opportunity, linked to its golden "
    "account, with its amount in the reporting currency.",
    searchable=("name",),
    # The same deal entered in two orgs is a steward's call, never merged: each
    # opportunity is a golden record of its own.
    resolved=False,
    review_rule="opportunity_review",
    summed_by="golden_account_id",
    # Searched by account rather than by name; contains on names uses the trigram index.
    word_index=False,
)

LEAD = ObjectSpec(
    "lead",
    (
        Field("first_name", "firstname", "person_name", length=40),
        Field("last_name", "lastname", "person_name", length=80),
        Field("company", "company", "company", length=255),
        Field("email", "email", "email", length=80),
        Field("phone", "phone", "phone", length=40),
        Field("mobile_phone", "mobilephone", "phone", length=40),
        Field("title", "title", length=128),
        Field("website", "website", "url", length=255),
        Field("country", "country", length=80),
        Field("status", "status", length=255),
        Field("lead_source", "leadsource", length=255),
        Field("is_converted", "isconverted", "boolean"),
        Field("converted_date", "converteddate", "date"),
        # What a converted lead became, in its own org.
        Field(
            "converted_account_sfid",
            "convertedaccountid",
            "sfid",
            length=18,
            golden=False,
            parent="account",
            link="converted_account_golden_id",
        ),
        Field(
            "converted_contact_sfid",
            "convertedcontactid",
            "sfid",
            length=18,
            golden=False,
            parent="contact",
            link="converted_contact_golden_id",
        ),
        Field(
            "converted_opportunity_sfid",
            "convertedopportunityid",
            "sfid",
            length=18,
            golden=False,
            parent="opportunity",
            link="converted_opportunity_golden_id",
        ),
        Field("owner_sfid", "ownerid", "sfid", length=18),
        Field("created_date", "createddate", "datetime"),
        # The same person's leads in every org share a cluster (the golden id of one of
        # them); the customer a lead already is, in any org: its golden contact and
        # golden account (`warehouse.leads`).
        Field("lead_cluster_id", kind="text", length=18, computed=True),
        Field("golden_contact_id", kind="text", length=18, computed=True, refers="contact"),
        Field("golden_account_id", kind="text", length=18, computed=True, refers="account"),
        Field("match_weight", kind="number", computed=True),
    ),
    entity_type="Lead",
    golden_prefix="GL",
    label=("first_name", "last_name"),
    label_fallbacks=("email", "company"),
    description="Leads: one row per live source lead, with the golden contact and account it "
    "already is in any org, and the cluster of the same person's leads.",
    searchable=("name", "email", "company"),
    # Each lead is a golden record of its own, matched to customers and to the other
    # orgs' leads rather than merged with them.
    resolved=False,
    # Looked up through their customer; contains on names uses the trigram index.
    word_index=False,
    summed_by="golden_account_id",
)

CONTACT_ROLE = ObjectSpec(
    "contact_role",
    (
        Field(
            "opportunity_sfid",
            "opportunityid",
            "sfid",
            length=18,
            golden=False,
            parent="opportunity",
            link="golden_opportunity_id",
        ),
        Field(
            "contact_sfid",
            "contactid",
            "sfid",
            length=18,
            golden=False,
            parent="contact",
            link="golden_contact_id",
        ),
        Field("role", "role", length=40),
        Field("is_primary", "isprimary", "boolean"),
    ),
    table="opportunitycontactrole",
    entity_type="OpportunityContactRole",
    golden_prefix="GR",
    label=("role",),
    description="Opportunity contact roles: the people of each opportunity, as golden "
    "contacts, where an org syncs its OpportunityContactRole table.",
    # Reached from an opportunity or a contact, never searched for.
    word_index=False,
    resolved=False,
)

BUILT_IN: tuple[ObjectSpec, ...] = (ACCOUNT, CONTACT, OPPORTUNITY, LEAD, CONTACT_ROLE)
# Modules (comma-separated) that declare an installation's own objects in `OBJECTS`.
EXTENSIONS_ENV = "ORG360_OBJECTS"


def validate(specs: tuple[ObjectSpec, ...]) -> None:
    """Check a catalogue whole: names, kinds, labels, parents declared before their
    children, golden id prefixes and entity names used once. Raises ConfigError."""
    seen: dict[str, ObjectSpec] = {}
    for spec in specs:
        where = f"object {spec.name!r}"
        if not _NAME.match(spec.name) or len(spec.name) > MAX_OBJECT_NAME:
            raise ConfigError(
                f"{where}: expected a lower-case name of letters, digits and '_', "
                f"at most {MAX_OBJECT_NAME} characters"
            )
        if spec.name in seen:
            raise ConfigError(f"{where} is declared twice")
        if not _NAME.match(spec.source_table):
            raise ConfigError(f"{where}: table {spec.source_table!r} is not a Connect table name")
        if not _PREFIX.match(spec.golden_prefix):
            raise ConfigError(f"{where}: golden_prefix must be two capital letters")
        if not _ENTITY.match(spec.entity_type):
            raise ConfigError(f"{where}: entity_type must be a PascalCase name")
        for other in seen.values():
            if spec.golden_prefix == other.golden_prefix:
                raise ConfigError(f"{where}: golden_prefix {spec.golden_prefix!r} is taken")
            if spec.entity_type == other.entity_type:
                raise ConfigError(f"{where}: entity_type {spec.entity_type!r} is taken")
        names = [f.name for f in spec.fields]
        for f in spec.fields:
            if not _NAME.match(f.name) or f.name in RESERVED or f.name.startswith("key_"):
                raise ConfigError(
                    f"{where}: field {f.name!r} is not a usable name (lower case; not "
                    "key_..., nor a column org360 keeps itself: "
                    + ", ".join(sorted(RESERVED))
                    + ")"
                )
            if names.count(f.name) > 1:
                raise ConfigError(f"{where}: field {f.name!r} is declared twice")
            if f.kind not in KINDS:
                raise ConfigError(
                    f"{where}: field {f.name!r} has kind {f.kind!r}; expected one of "
                    + ", ".join(KINDS)
                )
            if f.computed and (f.parent or f.derived or f.column or not f.golden):
                raise ConfigError(
                    f"{where}: computed field {f.name!r} is a golden column only (no column, "
                    "parent, or derivation)"
                )
            if f.refers is not None and (not f.computed or f.refers not in seen):
                raise ConfigError(
                    f"{where}: field {f.name!r} refers to {f.refers!r}: only a computed "
                    "field refers, to an object declared before it"
                )
            if f.link is not None and (f.parent is None or not _NAME.match(f.link)):
                raise ConfigError(f"{where}: field {f.name!r}: link names a parent's column")
            if f.parent is not None and f.parent not in seen:
                raise ConfigError(
                    f"{where}: field {f.name!r} points to {f.parent!r}, which must be "
                    "declared before it"
                )
        # A search may name the golden record's `name` column, whatever it is made of.
        searched = (s for s in spec.searchable if s != "name")
        for name in (*spec.label, *spec.label_fallbacks, *spec.matched, *searched):
            if name not in names:
                raise ConfigError(f"{where}: {name!r} is not one of its fields")
        if not spec.label:
            raise ConfigError(f"{where}: label must name at least one field")
        parents = [f.parent for f in spec.fields if f.parent]
        if len(parents) != len(set(parents)):
            raise ConfigError(f"{where}: one field at most may point to each parent")
        if "name" in names and not spec.name_is_a_field:
            raise ConfigError(f"{where}: a field called 'name' must be its label alone")
        for name in spec.matched:
            if spec.field(name).kind not in MATCHABLE_KINDS:
                raise ConfigError(
                    f"{where}: matched field {name!r} is a {spec.field(name).kind}; "
                    "the fields compared must be of kind " + ", ".join(MATCHABLE_KINDS)
                )
        if spec.review_rule and (spec.resolved or not _NAME.match(spec.review_rule)):
            raise ConfigError(
                f"{where}: review_rule names a query, for an object that is not resolved "
                "(a resolved one's review queue comes from its matcher)"
            )
        if spec.computed_fields and spec.resolved:
            raise ConfigError(
                f"{where}: computed fields are for an object that is not resolved (each "
                "golden record one source record, whose values they are worked out from)"
            )
        if spec.matched and not spec.resolved:
            raise ConfigError(f"{where}: an object that is not resolved matches no fields")
        seen[spec.name] = spec


def _extensions() -> tuple[ObjectSpec, ...]:
    """The objects declared by the modules `ORG360_OBJECTS` names."""
    found: list[ObjectSpec] = []
    for module_name in filter(
        None, (m.strip() for m in os.environ.get(EXTENSIONS_ENV, "").split(","))
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigError(
                f"{EXTENSIONS_ENV}: cannot import module {module_name!r} ({error})"
            ) from None
        declared = getattr(module, "OBJECTS", None)
        if not isinstance(declared, (list, tuple)) or not all(
            isinstance(spec, ObjectSpec) for spec in declared
        ):
            raise ConfigError(
                f"{EXTENSIONS_ENV}: module {module_name!r} must declare OBJECTS, a list of "
                "core.catalogue.ObjectSpec"
            )
        found.extend(declared)
    return tuple(found)


_SPECS = (*BUILT_IN, *_extensions())
validate(_SPECS)
# Parents before their children (every stage walks the catalogue in this order).
CATALOGUE: dict[str, ObjectSpec] = {spec.name: spec for spec in _SPECS}
OBJECTS: tuple[str, ...] = tuple(CATALOGUE)
# Fields read from the orgs, and the columns read for them by default.
FIELDS: dict[str, tuple[str, ...]] = {o: s.source_fields for o, s in CATALOGUE.items()}
DEFAULT_SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    o: s.default_columns for o, s in CATALOGUE.items()
}
