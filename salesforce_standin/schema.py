"""Object and field definitions, the standard objects org360 reads, and the describe JSON.

The describe output carries the keys client code reads (name, label, type, length,
custom, externalId, unique, updateable, nillable, picklistValues, referenceTo, ...) with
the values a real org reports for these standard fields, so code that builds its SELECT
lists or checks writability from describe behaves as it would against Salesforce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from salesforce_standin.values import ALL_TYPES

_DEFAULT_LENGTH = {
    "string": 255,
    "textarea": 255,
    "email": 80,
    "phone": 40,
    "url": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "combobox": 255,
    "id": 18,
    "reference": 18,
}
_SOAP_TYPE = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class FieldDef:
    """One field. `name` is the API name; `custom` defaults to whether it ends in __c."""

    name: str
    type: str
    length: int | None = None
    label: str | None = None
    external_id: bool = False
    unique: bool = False
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    picklist_values: tuple[str, ...] = ()
    reference_to: tuple[str, ...] = ()
    precision: int = 0
    scale: int = 0
    custom: bool | None = None
    # What a new record gets when the caller gives nothing (a picklist's default value).
    default_value: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ALL_TYPES:
            raise ValueError(f"unknown field type {self.type!r} for {self.name}")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", self.name):
            raise ValueError(f"not an API name: {self.name!r}")

    @property
    def is_custom(self) -> bool:
        return self.name.endswith("__c") if self.custom is None else self.custom

    @property
    def max_length(self) -> int:
        return self.length if self.length is not None else _DEFAULT_LENGTH.get(self.type, 0)

    @property
    def display_label(self) -> str:
        if self.label:
            return self.label
        base = self.name[:-3] if self.name.endswith("__c") else self.name
        if base.endswith("Id") and self.type in ("reference", "id") and base != "Id":
            base = base[:-2] + " ID"
        base = base.replace("_", " ")
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", base).strip() or self.name

    def describe(self) -> dict[str, Any]:
        length = self.max_length if self.type in _DEFAULT_LENGTH or self.length else 0
        relationship = None
        if self.type == "reference" and self.name.endswith("Id"):
            relationship = self.name[:-2]
        elif self.type == "reference" and self.name.endswith("__c"):
            relationship = self.name[:-3] + "__r"
        system = self.name in (
            "Id",
            "IsDeleted",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
        )
        return {
            "name": self.name,
            "label": self.display_label,
            "type": self.type,
            "soapType": _SOAP_TYPE.get(self.type, "xsd:string"),
            "length": length,
            "byteLength": length * 3,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
            "custom": self.is_custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id,
            "updateable": self.updateable,
            "createable": self.createable,
            "nillable": self.nillable,
            "defaultedOnCreate": system
            or self.type == "boolean"
            or self.name == "OwnerId"
            or self.default_value is not None,
            "calculated": False,
            "autoNumber": False,
            "caseSensitive": False,
            "filterable": self.type != "textarea" or self.max_length <= 255,
            "sortable": self.type not in ("multipicklist",),
            "groupable": self.type not in ("double", "currency", "percent", "datetime"),
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": v == self.default_value,
                    "label": v,
                    "validFor": None,
                    "value": v,
                }
                for v in self.picklist_values
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": relationship,
        }


@dataclass
class ObjectDef:
    """One sObject: its API name, key prefix and fields in describe order."""

    name: str
    key_prefix: str
    fields: list[FieldDef] = field(default_factory=list)
    label: str | None = None
    label_plural: str | None = None
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    # False: the `deleted` resource does not answer for it (not replicable).
    replicateable: bool = True

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def display_label(self) -> str:
        if self.label:
            return self.label
        base = self.name[:-3] if self.name.endswith("__c") else self.name
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", base.replace("_", " "))

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "sobject": base,
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
        }

    def global_entry(self, version: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.display_label,
            "labelPlural": self.label_plural or self.display_label + "s",
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "customSetting": False,
            "queryable": True,
            "retrieveable": True,
            "replicateable": self.replicateable,
            "searchable": True,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "undeletable": self.deletable,
            "layoutable": True,
            "triggerable": True,
            "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        out = self.global_entry(version)
        out["fields"] = [f.describe() for f in self.fields]
        out["childRelationships"] = []
        out["recordTypeInfos"] = []
        return out


def system_fields(object_name: str) -> tuple[list[FieldDef], list[FieldDef]]:
    """The fields every object has: (Id, IsDeleted) first, the three dates last."""
    head = [
        FieldDef(
            "Id",
            "id",
            label=f"{object_name} ID",
            updateable=False,
            createable=False,
            nillable=False,
        ),
        FieldDef(
            "IsDeleted",
            "boolean",
            label="Deleted",
            updateable=False,
            createable=False,
            nillable=False,
        ),
    ]
    tail = [
        FieldDef(
            "CreatedDate",
            "datetime",
            label="Created Date",
            updateable=False,
            createable=False,
            nillable=False,
        ),
        FieldDef(
            "LastModifiedDate",
            "datetime",
            label="Last Modified Date",
            updateable=False,
            createable=False,
            nillable=False,
        ),
        FieldDef(
            "SystemModstamp",
            "datetime",
            label="System Modstamp",
            updateable=False,
            createable=False,
            nillable=False,
        ),
    ]
    return head, tail


INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
OPPORTUNITY_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
# What a stage implies when the caller does not say: (IsClosed, IsWon, Forecast, Probability).
STAGE_DEFAULTS = {
    "Prospecting": (False, False, "Pipeline", "10"),
    "Qualification": (False, False, "Pipeline", "10"),
    "Needs Analysis": (False, False, "Pipeline", "20"),
    "Value Proposition": (False, False, "Pipeline", "50"),
    "Negotiation/Review": (False, False, "Pipeline", "90"),
    "Closed Won": (True, True, "Closed", "100"),
    "Closed Lost": (True, False, "Omitted", "0"),
}
FORECAST_CATEGORIES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
OPPORTUNITY_TYPES = (
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "INR", "CNY")


def _owner() -> FieldDef:
    return FieldDef(
        "OwnerId", "reference", label="Owner ID", nillable=False, reference_to=("User", "Group")
    )


def standard_objects(multi_currency: bool) -> list[ObjectDef]:
    """The standard objects org360 reads, fields in describe order."""
    s = FieldDef
    business: dict[str, tuple[str, list[FieldDef]]] = {
        "Account": (
            "001",
            [
                s("Name", "string", 255, label="Account Name", nillable=False),
                s("Type", "picklist", 255, label="Account Type", picklist_values=ACCOUNT_TYPES),
                s("BillingStreet", "textarea", 255),
                s("BillingCity", "string", 40),
                s("BillingState", "string", 80, label="Billing State/Province"),
                s("BillingPostalCode", "string", 20, label="Billing Zip/Postal Code"),
                s("BillingCountry", "string", 80),
                s("Phone", "phone", 40, label="Account Phone"),
                s("Website", "url", 255),
                s("Industry", "picklist", 255, picklist_values=INDUSTRIES),
                s("AnnualRevenue", "currency", precision=18, scale=0),
                s("NumberOfEmployees", "int", label="Employees"),
                _owner(),
            ],
        ),
        "Contact": (
            "003",
            [
                s("AccountId", "reference", reference_to=("Account",)),
                s("LastName", "string", 80, nillable=False),
                s("FirstName", "string", 40),
                s("MailingStreet", "textarea", 255),
                s("MailingCity", "string", 40),
                s("MailingState", "string", 80, label="Mailing State/Province"),
                s("MailingPostalCode", "string", 20, label="Mailing Zip/Postal Code"),
                s("MailingCountry", "string", 80),
                s("Phone", "phone", 40, label="Business Phone"),
                s("MobilePhone", "phone", 40),
                s("Email", "email", 80),
                s("Title", "string", 128),
                s("Birthdate", "date"),
                _owner(),
            ],
        ),
        "Opportunity": (
            "006",
            [
                s("AccountId", "reference", reference_to=("Account",)),
                s("Name", "string", 120, nillable=False),
                s(
                    "StageName",
                    "picklist",
                    255,
                    label="Stage",
                    nillable=False,
                    picklist_values=OPPORTUNITY_STAGES,
                ),
                s("Amount", "currency", precision=18, scale=2),
                s("Probability", "percent", label="Probability (%)", precision=3, scale=0),
                s("CloseDate", "date", nillable=False),
                s(
                    "Type",
                    "picklist",
                    255,
                    label="Opportunity Type",
                    picklist_values=OPPORTUNITY_TYPES,
                ),
                s("LeadSource", "picklist", 255, picklist_values=LEAD_SOURCES),
                s(
                    "IsClosed",
                    "boolean",
                    label="Closed",
                    updateable=False,
                    createable=False,
                    nillable=False,
                ),
                s(
                    "IsWon",
                    "boolean",
                    label="Won",
                    updateable=False,
                    createable=False,
                    nillable=False,
                ),
                s(
                    "ForecastCategoryName",
                    "picklist",
                    40,
                    label="Forecast Category",
                    picklist_values=FORECAST_CATEGORIES,
                ),
                _owner(),
            ],
        ),
        "Lead": (
            "00Q",
            [
                s("LastName", "string", 80, nillable=False),
                s("FirstName", "string", 40),
                s("Title", "string", 128),
                s("Company", "string", 255, nillable=False),
                s("Country", "string", 80),
                s("Phone", "phone", 40),
                s("MobilePhone", "phone", 40),
                s("Email", "email", 80),
                s("Website", "url", 255),
                s("LeadSource", "picklist", 255, picklist_values=LEAD_SOURCES),
                s(
                    "Status",
                    "picklist",
                    255,
                    nillable=False,
                    picklist_values=LEAD_STATUSES,
                    default_value=LEAD_STATUSES[0],
                ),
                s("IsConverted", "boolean", label="Converted", updateable=False, nillable=False),
                s("ConvertedDate", "date", updateable=False),
                s("ConvertedAccountId", "reference", updateable=False, reference_to=("Account",)),
                s("ConvertedContactId", "reference", updateable=False, reference_to=("Contact",)),
                s(
                    "ConvertedOpportunityId",
                    "reference",
                    updateable=False,
                    reference_to=("Opportunity",),
                ),
                _owner(),
            ],
        ),
        "OpportunityContactRole": (
            "00K",
            [
                s(
                    "OpportunityId",
                    "reference",
                    label="Opportunity ID",
                    updateable=False,
                    nillable=False,
                    reference_to=("Opportunity",),
                ),
                s(
                    "ContactId",
                    "reference",
                    label="Contact ID",
                    nillable=False,
                    reference_to=("Contact",),
                ),
                s("Role", "picklist", 40, picklist_values=CONTACT_ROLES),
                s("IsPrimary", "boolean", label="Primary", nillable=False),
            ],
        ),
    }
    if multi_currency:
        business["CurrencyType"] = (
            "02o",
            [
                s(
                    "IsoCode",
                    "picklist",
                    3,
                    label="Currency ISO Code",
                    updateable=False,
                    nillable=False,
                    picklist_values=CURRENCIES,
                ),
                s(
                    "ConversionRate",
                    "double",
                    label="Conversion Rate",
                    nillable=False,
                    precision=18,
                    scale=6,
                ),
                s("IsActive", "boolean", label="Active", nillable=False),
                s("IsCorporate", "boolean", label="Corporate", updateable=False, nillable=False),
            ],
        )
        business["DatedConversionRate"] = (
            "04w",
            [
                s(
                    "IsoCode",
                    "picklist",
                    3,
                    label="Currency ISO Code",
                    updateable=False,
                    nillable=False,
                    picklist_values=CURRENCIES,
                ),
                s("StartDate", "date", nillable=False),
                s("NextStartDate", "date", updateable=False, createable=False),
                s(
                    "ConversionRate",
                    "double",
                    label="Conversion Rate",
                    nillable=False,
                    precision=18,
                    scale=6,
                ),
            ],
        )
    objects = []
    for name, (prefix, fields) in business.items():
        head, tail = system_fields(name)
        extra = []
        if multi_currency and name not in ("CurrencyType", "DatedConversionRate"):
            extra.append(
                FieldDef(
                    "CurrencyIsoCode",
                    "picklist",
                    3,
                    label="Currency ISO Code",
                    picklist_values=CURRENCIES,
                    nillable=False,
                )
            )
        objects.append(
            ObjectDef(
                name,
                prefix,
                head + fields + extra + tail,
                label_plural="Opportunities" if name == "Opportunity" else None,
            )
        )
    return objects
