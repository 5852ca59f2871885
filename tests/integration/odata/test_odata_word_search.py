"""The word index behind name searches: kept exact by every write, and used by the service.

Searches answered from the index must return exactly what the table's ILIKE returns,
page after page; the index must follow inserts, updates, upserts, deletes and
truncation; and the requests Salesforce sends must take the index's path.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import text

from core.database import make_engine
from odata_service.model import load_model
from odata_service.options import parse_options
from odata_service.paths import parse_path
from odata_service.reader import Reader
from odata_service.schema import ENTITY_SETS
from tests.integration.odata.conftest import execute, seeded_database
from tests.integration.odata.test_odata_paging import walk
from tests.integration.odata.test_odata_queries import sql_ids


def expected_postings(database_url: str) -> set[tuple[str, str, str]]:
    """The words of every indexed column, computed in Python from the tables themselves."""
    engine = make_engine(database_url)
    words = set()
    with engine.connect() as conn:
        for decl in ENTITY_SETS:
            for name in decl.word_indexed:
                column = next(p.column for p in decl.properties if p.name == name)
                rows = conn.execute(
                    text(f'SELECT golden_id, "{column}" FROM golden."{decl.table}"')
                )
                for key, value in rows:
                    for word in re.split(r"\s+", (value or "").lower()):
                        if len(word) >= 3:
                            words.add((f"{decl.table}.{column}", word, key))
    engine.dispose()
    return words


def index_contents(database_url: str) -> tuple[set, set]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        postings = set(
            map(
                tuple,
                conn.execute(text("SELECT source, word, golden_id FROM golden.search_posting")),
            )
        )
        vocabulary = set(
            map(tuple, conn.execute(text("SELECT source, word FROM golden.search_word")))
        )
    engine.dispose()
    return postings, vocabulary


def assert_index_exact(database_url: str) -> None:
    postings, vocabulary = index_contents(database_url)
    expected = expected_postings(database_url)
    assert postings == expected
    assert vocabulary == {(source, word) for source, word, _ in expected}


def test_the_index_follows_every_kind_of_write(pg_admin_url, template_database):
    with seeded_database(pg_admin_url, template_database) as url:
        assert_index_exact(url)  # rows inserted by the seed
        execute(
            url,
            "UPDATE golden.account SET name = 'Quux Holdings ' || golden_id "
            "WHERE golden_id <= 'GA000050'",
        )
        execute(url, "UPDATE golden.account SET phone = '+1 000' WHERE golden_id = 'GA000060'")
        # What publish() does: an upsert that both inserts and updates.
        execute(
            url,
            "INSERT INTO golden.account (golden_id, name, member_count, orgs, provenance) "
            "VALUES ('GA000061', 'Renamed  Acme\tWidgets', 1, 'a', '{}'), "
            "       ('GA990001', 'Brand New Company', 1, 'a', '{}') "
            "ON CONFLICT (golden_id) DO UPDATE SET name = excluded.name",
        )
        execute(url, "DELETE FROM golden.contact WHERE golden_id > 'GC000300'")
        assert_index_exact(url)
        # A word nobody uses any more leaves the vocabulary.
        _, vocabulary = index_contents(url)
        assert ("account.name", "brand") in vocabulary
        execute(url, "DELETE FROM golden.account WHERE golden_id = 'GA990001'")
        _, vocabulary = index_contents(url)
        assert ("account.name", "brand") not in vocabulary
        execute(url, "TRUNCATE golden.contact CASCADE")
        assert_index_exact(url)
        postings, _ = index_contents(url)
        assert postings and not any(source == "contact.name" for source, _, _ in postings)


def test_triggers_index_the_declared_columns(odata_server):
    """The migration's triggers and the service's declaration name the same columns."""
    engine = make_engine(odata_server.database_url)
    with engine.connect() as conn:
        definitions = dict(
            conn.execute(
                text(
                    "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = 'search_words_insert'"
                )
            ).all()
        )
    engine.dispose()
    declared = {
        d.table: ", ".join(
            [f"'{d.table}'"]
            + [f"'{p.column}'" for name in d.word_indexed for p in d.properties if p.name == name]
        )
        for d in ENTITY_SETS
        if d.word_indexed
    }
    assert set(definitions) == set(declared)
    for table, arguments in declared.items():
        assert f"maintain_search_words({arguments})" in definitions[table]


CASES = [
    # (entity set, $filter or None, $search or None, SQL over the table)
    (
        "Accounts",
        "contains(Name,'acme') eq true or contains(Phone,'acme') eq true",
        None,
        "name ILIKE '%acme%' OR phone ILIKE '%acme%'",
    ),
    (
        "Accounts",
        "contains(Name,'ORP') eq true or contains(Phone,'7946 001') eq true",
        None,
        "name ILIKE '%orp%' OR phone ILIKE '%7946 001%'",
    ),
    (
        "Accounts",
        "contains(Name,'acme') and contains(Name,'gmbh')",
        None,
        "name ILIKE '%acme%' AND name ILIKE '%gmbh%'",
    ),
    (
        "Accounts",
        "substringof('rich',Name) or startswith(Name,'Glob')",
        None,
        "name ILIKE '%rich%' OR name ILIKE 'glob%'",
    ),
    ("Accounts", "contains(Name,'me Co')", None, "name ILIKE '%me co%'"),  # spans two words
    ("Accounts", "contains(Name,'100%')", None, "name ILIKE '%100\\%%'"),
    ("Accounts", "contains(Name,'l_F')", None, "name ILIKE '%l\\_f%'"),
    ("Accounts", "contains(Name,'ZÜR')", None, "name ILIKE '%zür%'"),
    (
        "Accounts",
        None,
        "acme OR umbrella",
        "name ILIKE '%acme%' OR website ILIKE '%acme%' "
        "OR phone ILIKE '%acme%' OR name ILIKE '%umbrella%' OR website ILIKE '%umbrella%' "
        "OR phone ILIKE '%umbrella%'",
    ),
    (
        "Accounts",
        "contains(Name,'corp')",
        "stark",
        "name ILIKE '%corp%' AND (name ILIKE "
        "'%stark%' OR website ILIKE '%stark%' OR phone ILIKE '%stark%')",
    ),
    (
        "Contacts",
        "contains(Name,'smith') eq true or contains(Phone,'smith') eq true",
        None,
        "name ILIKE '%smith%' OR phone ILIKE '%smith%'",
    ),
    (
        "Contacts",
        None,
        '"ann jones"',
        "name ILIKE '%ann jones%' OR email ILIKE '%ann jones%' OR phone ILIKE '%ann jones%'",
    ),
]


@pytest.mark.parametrize(("entity_set", "filter", "search", "where"), CASES)
def test_searches_return_what_the_table_holds_page_by_page(
    client, odata_server, entity_set, filter, search, where
):
    query = ["$select=GoldenId", "$count=true"]
    if filter:
        query.append("$filter=" + quote(filter))
    if search:
        query.append("$search=" + quote(search))
    pages = walk(client, f"{entity_set}?{'&'.join(query)}", page_size=7)
    found = [row["GoldenId"] for page in pages for row in page["value"]]
    table = {"Accounts": "account", "Contacts": "contact"}[entity_set]
    expected = sql_ids(odata_server.database_url, where, table=table)
    assert expected, "a case that matches nothing proves little"
    assert found == expected
    assert pages[0]["@odata.count"] == len(expected)
    # A client-driven page ($skip) lines up with the same order.
    skipped = client.get(f"{entity_set}?{'&'.join(query)}&$top=5&$skip=3").json()["value"]
    assert [row["GoldenId"] for row in skipped] == expected[3:8]


def plan_sql(database_url: str, request: str) -> str:
    engine = make_engine(database_url)
    try:
        reader = Reader(engine, load_model(engine), counts=None)  # type: ignore[arg-type]
        path, _, query = request.partition("?")
        plan = reader.plan(parse_path(path), parse_options(query), 100)
        return str(plan.statement)
    finally:
        engine.dispose()


def test_salesforce_searches_take_the_word_index(odata_server):
    search = "$filter=" + quote("contains(Name,'acme') eq true or contains(Phone,'acme') eq true")
    url = odata_server.database_url
    assert "search_posting" in plan_sql(url, f"Accounts?{search}&$top=25")
    # Another order, or a condition the index cannot answer: the general path.
    assert "search_posting" not in plan_sql(url, f"Accounts?{search}&$orderby=Name")
    other = "$filter=" + quote("contains(Name,'acme') and Industry eq 'Retail'")
    assert "search_posting" not in plan_sql(url, f"Accounts?{other}")
