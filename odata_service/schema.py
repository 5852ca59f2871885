"""The one declaration of what the OData service exposes.

Entity sets, their tables, properties, keys, navigation and searchable columns
are listed here and nowhere else: the model, `$metadata`, the query compiler and
the serializer all read this declaration, so a table or column that is not named
here cannot be reached through the service. Types, lengths and nullability come
from the database at startup (see `model.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.catalogue import ACCOUNT, CONTACT

NAMESPACE = "org360"
CONTAINER = "Container"


@dataclass(frozen=True)
class Prop:
    """A property: one column, or (`parts`) columns joined with '/' into a single key.

    Salesforce External Objects need one External ID, so a composite primary key is
    published as one string computed in SQL (an expression index serves it).
    """

    name: str
    column: str | None = None
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Nav:
    """A navigation property: target rows whose `on` properties equal ours, plus `where`."""

    name: str
    target: str
    many: bool
    on: tuple[tuple[str, str], ...]
    where: tuple[tuple[str, str], ...] = ()
    partner: str | None = None


@dataclass(frozen=True)
class EntitySetDecl:
    name: str
    type_name: str
    schema: str
    table: str
    key: str
    properties: tuple[Prop, ...]
    searchable: tuple[str, ...] = ()
    # Properties whose words migration 0021 indexes (golden.search_posting, source
    # "<table>.<column>"): `contains` on them is answered from the index.
    word_indexed: tuple[str, ...] = ()
    navigation: tuple[Nav, ...] = ()


# Column names whose PascalCase form is not the mechanical one.
_NAMES = {
    "systemmodstamp": "SystemModstamp",
    "sfid": "Sfid",
}


def pascal(column: str) -> str:
    return _NAMES.get(column) or "".join(part.capitalize() for part in column.split("_"))


def columns(*names: str) -> tuple[Prop, ...]:
    return tuple(Prop(pascal(name), name) for name in names)


_GOLDEN_TAIL = ("member_count", "orgs", "last_modified", "created_at", "updated_at")

ENTITY_SETS: tuple[EntitySetDecl, ...] = (
    EntitySetDecl(
        name="Accounts",
        type_name="Account",
        schema="golden",
        table="account",
        key="GoldenId",
        properties=columns("golden_id", *ACCOUNT.exposed_fields, *_GOLDEN_TAIL),
        searchable=("Name", "Website", "Phone"),
        word_indexed=("Name",),
        navigation=(
            Nav(
                "Contacts", "Contacts", True, (("GoldenId", "AccountGoldenId"),), partner="Account"
            ),
            Nav(
                "SourceRecords",
                "SourceRecords",
                True,
                (("GoldenId", "GoldenId"),),
                where=(("Object", "account"),),
            ),
        ),
    ),
    EntitySetDecl(
        name="Contacts",
        type_name="Contact",
        schema="golden",
        table="contact",
        key="GoldenId",
        # Provenance stays private (raw lineage), as do fields the catalogue does not
        # expose (identity numbers); `name` is the golden contact's display name.
        properties=columns(
            "golden_id", *CONTACT.exposed_fields, "name", "account_golden_id", *_GOLDEN_TAIL
        ),
        searchable=("Name", "Email", "Phone"),
        word_indexed=("Name",),
        navigation=(
            Nav(
                "Account", "Accounts", False, (("AccountGoldenId", "GoldenId"),), partner="Contacts"
            ),
            Nav(
                "SourceRecords",
                "SourceRecords",
                True,
                (("GoldenId", "GoldenId"),),
                where=(("Object", "contact"),),
            ),
        ),
    ),
    EntitySetDecl(
        name="SourceRecords",
        type_name="SourceRecord",
        schema="golden",
        table="xref",
        key="SourceKey",
        properties=(
            Prop("SourceKey", parts=("object", "org", "sfid")),
            *columns(
                "object",
                "org",
                "sfid",
                "golden_id",
                "source_schema",
                "match_weight",
                "is_survivor",
                "hc_failed",
                "systemmodstamp",
                "updated_at",
            ),
        ),
    ),
    EntitySetDecl(
        name="DuplicateReviews",
        type_name="DuplicateReview",
        schema="golden",
        table="duplicate_review",
        key="ReviewId",
        properties=columns(
            "review_id",
            "object",
            "org_a",
            "sfid_a",
            "golden_id_a",
            "label_a",
            "org_b",
            "sfid_b",
            "golden_id_b",
            "label_b",
            "probability",
            "match_weight",
            "created_at",
        ),
        searchable=("LabelA", "LabelB"),
    ),
    EntitySetDecl(
        name="ArchivedAccounts",
        type_name="ArchivedAccount",
        schema="archive",
        table="account_all",
        key="ArchiveKey",
        properties=columns(
            "archive_key",
            "org",
            "sfid",
            "name",
            "website",
            "phone",
            "billing_city",
            "billing_country",
            "systemmodstamp",
            "archived_at",
            "archived_by",
            "job_id",
            "restored_at",
            "restored_sfid",
        ),
        searchable=("Name", "Phone"),
    ),
    EntitySetDecl(
        name="ArchivedContacts",
        type_name="ArchivedContact",
        schema="archive",
        table="contact_all",
        key="ArchiveKey",
        properties=columns(
            "archive_key",
            "org",
            "sfid",
            "first_name",
            "last_name",
            "email",
            "phone",
            "account_sfid",
            "systemmodstamp",
            "archived_at",
            "archived_by",
            "job_id",
            "restored_at",
            "restored_sfid",
        ),
        searchable=("FirstName", "LastName", "Email"),
    ),
)
