"""Custom objects declared the way an installation declares its own: a Salesforce
`Partner__c`, synced by Heroku Connect as `partner__c`, whose duplicates are found by
name and e-mail, linked to an account; and `Partner_Deal__c`, deals a partner
registered, never merged, linked to their partner. Named by ORG360_OBJECTS in the
tests that use them."""

from core.catalogue import Field, ObjectSpec

PARTNER = ObjectSpec(
    "partner",
    (
        Field("name", "name", "company", length=80),
        Field("email", "email__c", "email", length=80),
        Field("phone", "phone__c", "phone", length=40),
        Field("tier", "tier__c", length=40),
        Field("since", "partner_since__c", "date"),
        Field("account_sfid", "account__c", "sfid", length=18, golden=False, parent="account"),
    ),
    entity_type="Partner",
    golden_prefix="GP",
    label=("name",),
    label_fallbacks=("email",),
    matched=("name", "email"),
    description="Golden partners: one row per real-world partner company.",
    table="partner__c",
    searchable=("name", "email"),
)


# Deals registered by partners: not deduplicated (each is its own golden record),
# linked to the golden partner.
PARTNER_DEAL = ObjectSpec(
    "partner_deal",
    (
        Field("name", "name", length=80),
        Field("amount", "amount__c", "number"),
        Field("won", "won__c", "boolean"),
        Field("close_date", "close_date__c", "date"),
        Field("partner_sfid", "partner__c", "sfid", length=18, golden=False, parent="partner"),
    ),
    entity_type="PartnerDeal",
    golden_prefix="GD",
    label=("name",),
    description="Golden partner deals: one row per deal registered by a partner.",
    table="partner_deal__c",
    resolved=False,
)

OBJECTS = [PARTNER, PARTNER_DEAL]
