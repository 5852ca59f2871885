"""The one declaration of what the OData service exposes.

Entity sets, their tables, properties, keys, navigation and searchable columns
are listed here and nowhere else: the model, `$metadata`, the query compiler and
the serializer all read this declaration, so a table or column that is not named
here cannot be reached through the service. Types, lengths and nullability come
from the database at startup (see `model.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.catalogue import CATALOGUE, ObjectSpec

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


_GOLDEN_TAIL = (
    "main_org_sfid",
    "member_count",
    "orgs",
    "last_modified",
    "created_at",
    "updated_at",
)


def _nav_name(spec: ObjectSpec, parent: str, column: str) -> str:
    """A link's navigation name: the parent's entity type (`Account`) for the link to
    it, else the column's own words (`converted_account_golden_id`: ConvertedAccount)."""
    if column in (f"{parent}_golden_id", f"golden_{parent}_id"):
        return CATALOGUE[parent].entity_type
    return pascal(column.removesuffix("_golden_id"))


def _links(spec: ObjectSpec) -> list[tuple[str, str, str]]:
    """(parent, column, navigation name) of every golden column holding another
    object's golden id: its parents' links and the references it computes."""
    links = [(parent, column) for parent, column in spec.parent_links.values()]
    links += [(parent, column) for column, parent in spec.references.items()]
    return [(parent, column, _nav_name(spec, parent, column)) for parent, column in links]


def _golden_entity_set(spec: ObjectSpec) -> EntitySetDecl:
    """An object's golden records, as the catalogue declares them: the fields it
    exposes, a display name, the golden id of each parent record (a contact's account),
    navigation to parents, children and source records."""
    parents = dict(spec.parent_links.values())
    extra = ("name",) if "name" not in spec.exposed_fields else ()
    # An object that is not resolved: each golden record is one source record.
    source = () if spec.resolved else ("org", "sfid")
    navigation = [
        Nav(
            name,
            CATALOGUE[parent].entity_set,
            False,
            ((pascal(column), "GoldenId"),),
            # The parent's collection of these records is its link named after it.
            partner=spec.entity_set if name == CATALOGUE[parent].entity_type else None,
        )
        for parent, column, name in _links(spec)
    ]
    navigation += [
        Nav(
            child.entity_set,
            child.entity_set,
            True,
            (("GoldenId", pascal(column)),),
            partner=spec.entity_type,
        )
        for child in CATALOGUE.values()
        for parent, column, name in _links(child)
        if parent == spec.name and name == spec.entity_type
    ]
    navigation.append(
        Nav(
            "SourceRecords",
            "SourceRecords",
            True,
            (("GoldenId", "GoldenId"),),
            where=(("Object", spec.name),),
        )
    )
    return EntitySetDecl(
        name=spec.entity_set,
        type_name=spec.entity_type,
        schema="golden",
        table=spec.name,
        key="GoldenId",
        # Provenance stays private (raw lineage), as do fields the catalogue does not
        # expose (identity numbers).
        properties=columns(
            "golden_id", *source, *spec.exposed_fields, *extra, *parents.values(), *_GOLDEN_TAIL
        ),
        searchable=tuple(pascal(field) for field in spec.searchable),
        word_indexed=("Name",) if spec.word_index else (),
        navigation=tuple(navigation),
    )


# The report tables (warehouse/reports.py): each golden account's figures.
_ACCOUNT_REPORTS = (
    Nav("AccountSummary", "AccountSummaries", False, (("GoldenId", "GoldenId"),)),
    Nav("PipelineByMonth", "PipelineByMonth", True, (("GoldenId", "GoldenAccountId"),)),
)


def _golden_sets() -> tuple[EntitySetDecl, ...]:
    sets = []
    for spec in CATALOGUE.values():
        decl = _golden_entity_set(spec)
        if spec.name == "account":
            decl = replace(decl, navigation=(*decl.navigation, *_ACCOUNT_REPORTS))
        sets.append(decl)
    return tuple(sets)


ENTITY_SETS: tuple[EntitySetDecl, ...] = (
    *_golden_sets(),
    EntitySetDecl(
        name="AccountSummaries",
        type_name="AccountSummary",
        schema="golden",
        table="account_summary",
        key="GoldenId",
        properties=columns(
            "golden_id",
            "open_pipeline",
            "weighted_pipeline",
            "won_this_year",
            "won_last_year",
            "lost_this_year",
            "open_opportunities",
            "orgs",
            "first_close_date",
            "last_close_date",
            "open_leads",
            "reporting_currency",
            "updated_at",
        ),
        navigation=(Nav("Account", "Accounts", False, (("GoldenId", "GoldenId"),)),),
    ),
    EntitySetDecl(
        name="PipelineByMonth",
        type_name="PipelineMonth",
        schema="golden",
        table="pipeline_by_month",
        key="RowKey",
        properties=columns(
            "row_key",
            "golden_account_id",
            "org",
            "funnel_stage",
            "close_month",
            "amount_reporting",
            "opportunities",
            "reporting_currency",
            "updated_at",
        ),
        navigation=(Nav("Account", "Accounts", False, (("GoldenAccountId", "GoldenId"),)),),
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
