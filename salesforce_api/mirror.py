"""The tables an API org's extract writes: laid out as Heroku Connect lays out its own
(lower-case API names, `sfid`, `systemmodstamp`, `isdeleted`), so staging reads an
org without Connect exactly as it reads one with it.

Which fields are read is worked out from the catalogue and the org's config (the
columns staging maps, the rate tables' columns, the write-back field) intersected with
what the org's `describe()` has; nothing else is copied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, text

from core.catalogue import CATALOGUE
from core.settings import OrgSettings
from warehouse.sql import ident, idents

# Tables an org's rates live in (read whole, small) and the columns org360 reads.
RATE_TABLES: dict[str, tuple[str, ...]] = {
    "currencytype": ("isocode", "conversionrate", "iscorporate", "isactive"),
    "datedconversionrate": ("isocode", "startdate", "nextstartdate", "conversionrate"),
}
# Read for every object: the record's identity, change stamp and deletion flag.
SYSTEM_FIELDS = ("id", "systemmodstamp", "isdeleted", "createddate")
# Read where the org has it: the currency of the record's amounts (multi-currency orgs).
OPTIONAL_FIELDS = ("currencyisocode",)
LOAD_PREFIX = "_org360_load_"

# Salesforce field types -> the column types Heroku Connect gives them.
_TEXT_TYPES = {
    "string",
    "picklist",
    "multipicklist",
    "textarea",
    "email",
    "phone",
    "url",
    "combobox",
    "encryptedstring",
}
_TYPES = {
    "id": "varchar(18)",
    "reference": "varchar(18)",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "double": "double precision",
    "currency": "double precision",
    "percent": "double precision",
    "int": "integer",
    "long": "bigint",
}


class MirrorError(RuntimeError):
    """The org's describe() lacks what the config maps; the message says what."""


@dataclass(frozen=True)
class Column:
    api_name: str  # as Salesforce spells it (the query selects this)
    name: str  # the Connect-style column: lower case, Id -> sfid
    sql_type: str


@dataclass(frozen=True)
class MirrorTable:
    """One object of one API org: what is read and where it goes."""

    org: str
    schema: str
    table: str  # Connect's table name: account, partner__c, currencytype
    sobject: str  # Salesforce's API name: Account, Partner__c
    columns: tuple[Column, ...]
    small: bool = False  # a rate table: read whole through REST each run

    @property
    def fields_hash(self) -> str:
        """What a watermark is valid for: a newly read field is read for every record."""
        key = repr(sorted(c.api_name.lower() for c in self.columns))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def soql(self, since: str | None = None, only_ids: bool = False) -> str:
        fields = "Id" if only_ids else ", ".join(c.api_name for c in self.columns)
        where = f" WHERE SystemModstamp >= {since}" if since else ""
        return f"SELECT {fields} FROM {self.sobject}{where}"

    @property
    def load_table(self) -> str:
        return f"{LOAD_PREFIX}{self.table}"


def column_type(field: dict) -> str:
    kind = field.get("type", "string")
    if kind in _TEXT_TYPES:
        length = int(field.get("length") or 0)
        return f"varchar({length})" if 0 < length <= 10_485_760 else "text"
    return _TYPES.get(kind, "text")


def wanted_columns(org: OrgSettings, table: str) -> tuple[set[str], set[str]]:
    """Lower-case API names org360 reads from `table`: (required, read where present)."""
    if table in RATE_TABLES:
        return set(RATE_TABLES[table]), set()
    obj = next(o for o, spec in CATALOGUE.items() if spec.source_table == table)
    required = set(org.field_overrides(obj).values())
    optional = {c for c in CATALOGUE[obj].default_columns.values()} | set(OPTIONAL_FIELDS)
    if org.writeback is not None:
        optional.add(org.writeback.column)
    return required, optional - required


def plan_table(org: OrgSettings, table: str, sobject: str, describe: dict) -> MirrorTable:
    """The mirror of `table` given the org's describe() of `sobject`."""
    by_name = {f["name"].lower(): f for f in describe.get("fields", [])}
    required, optional = wanted_columns(org, table)
    missing = sorted(c for c in (*SYSTEM_FIELDS[:1], *required) if c not in by_name)
    if missing:
        obj = table if table in RATE_TABLES else _object_of(table)
        raise MirrorError(
            f"org {org.key!r}: {sobject} has no field(s) {', '.join(missing)} in Salesforce "
            f"(describe of {sobject}); fix fields.{obj} in the config or the integration "
            "user's field-level security"
        )
    names = [c for c in SYSTEM_FIELDS if c in by_name]
    names += sorted((required | optional) & set(by_name) - set(names))
    columns = tuple(
        Column(
            api_name=by_name[n]["name"],
            name="sfid" if n == "id" else n,
            sql_type=column_type(by_name[n]),
        )
        for n in names
    )
    return MirrorTable(org.key, org.schema, table, sobject, columns, small=table in RATE_TABLES)


def _object_of(table: str) -> str:
    return next(o for o, spec in CATALOGUE.items() if spec.source_table == table)


def ensure_table(conn: Connection, mirror: MirrorTable) -> None:
    """Create the org's table (or add newly read columns), keyed by sfid as Connect's."""
    schema = ident(conn, mirror.schema)
    target = ident(conn, mirror.schema, mirror.table)
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    body = ", ".join(
        f"{ident(conn, c.name)} {c.sql_type}" + (" PRIMARY KEY" if c.name == "sfid" else "")
        for c in mirror.columns
    )
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {target} ({body})")
    for c in mirror.columns:
        conn.exec_driver_sql(
            f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {ident(conn, c.name)} {c.sql_type}"
        )
    if any(c.name == "systemmodstamp" for c in mirror.columns):
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {ident(conn, mirror.table + '_systemmodstamp_idx')} "
            f"ON {target} (systemmodstamp)"
        )


def reset_load_table(conn: Connection, mirror: MirrorTable) -> None:
    """An empty table the pages of one query are loaded into, columns as the mirror's."""
    load = ident(conn, mirror.schema, mirror.load_table)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {load}")
    body = ", ".join(f"{ident(conn, c.name)} {c.sql_type}" for c in mirror.columns)
    conn.exec_driver_sql(f"CREATE TABLE {load} ({body})")


def merge_loaded(conn: Connection, mirror: MirrorTable, every_record_since=None) -> int:
    """Merge what the query loaded into the org's table; returns the rows changed.

    `every_record_since`: the load holds every record the org had when the query began
    (at that moment), so the table's records missing from it were purged: flagged."""
    target = ident(conn, mirror.schema, mirror.table)
    load = ident(conn, mirror.schema, mirror.load_table)
    if conn.exec_driver_sql(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").scalar():
        return _swap_in(conn, mirror)
    names = mirror.column_names
    others = [n for n in names if n != "sfid"]
    columns = idents(conn, names)
    updates = ", ".join(f"{ident(conn, n)} = excluded.{ident(conn, n)}" for n in others)
    before = ", ".join(f"m.{ident(conn, n)}" for n in others)
    after = ", ".join(f"excluded.{ident(conn, n)}" for n in others)
    changed = conn.exec_driver_sql(
        f"INSERT INTO {target} AS m ({columns}) SELECT {columns} FROM {load} "
        f"ON CONFLICT (sfid) DO UPDATE SET {updates} "
        f"WHERE ({before}) IS DISTINCT FROM ({after})"
    ).rowcount
    if every_record_since is not None:
        changed += mark_absent_deleted(conn, mirror, load, every_record_since)
    return changed


def _swap_in(conn: Connection, mirror: MirrorTable) -> int:
    """An empty table (the first extract) is replaced by the loaded one, keyed and
    indexed afterwards: much faster than inserting a million rows through an index."""
    target = ident(conn, mirror.schema, mirror.table)
    load = ident(conn, mirror.schema, mirror.load_table)
    conn.exec_driver_sql(f"DROP TABLE {target}")
    conn.exec_driver_sql(f"ALTER TABLE {load} RENAME TO {ident(conn, mirror.table)}")
    conn.exec_driver_sql(f"ALTER TABLE {target} ADD PRIMARY KEY (sfid)")
    if any(c.name == "systemmodstamp" for c in mirror.columns):
        conn.exec_driver_sql(
            f"CREATE INDEX {ident(conn, mirror.table + '_systemmodstamp_idx')} "
            f"ON {target} (systemmodstamp)"
        )
    conn.exec_driver_sql(f"ANALYZE {target}")
    reset_load_table(conn, mirror)
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {target}").scalar_one())


def mark_absent_deleted(conn: Connection, mirror: MirrorTable, table: str, before) -> int:
    """Rows of the org's table that a read of every id (`table`, an `sfid` column) did
    not return are gone from Salesforce: flagged deleted. Rows changed after the read
    began (`before`) were not in it and are left alone."""
    target = ident(conn, mirror.schema, mirror.table)
    result = conn.execute(
        text(
            f"UPDATE {target} AS m SET isdeleted = true WHERE m.isdeleted IS NOT TRUE "
            f"AND (m.systemmodstamp IS NULL OR m.systemmodstamp < CAST(:before AS timestamp)) "
            f"AND NOT EXISTS (SELECT 1 FROM {table} AS seen WHERE seen.sfid = m.sfid)"
        ),
        {"before": before},
    )
    return result.rowcount


def mark_deleted(conn: Connection, mirror: MirrorTable, deleted: list[tuple[str, object]]) -> int:
    """Flag records Salesforce reports deleted (id, deletedDate), unless changed since
    (undeleted)."""
    if not deleted:
        return 0
    target = ident(conn, mirror.schema, mirror.table)
    result = conn.execute(
        text(
            f"UPDATE {target} AS m SET isdeleted = true "
            "FROM unnest(CAST(:ids AS text[]), CAST(:dates AS timestamptz[])) AS d(sfid, at) "
            "WHERE m.sfid = d.sfid AND m.isdeleted IS NOT TRUE AND (m.systemmodstamp IS NULL "
            "OR m.systemmodstamp <= CAST(d.at AT TIME ZONE 'UTC' AS timestamp))"
        ),
        {"ids": [d[0] for d in deleted], "dates": [d[1] for d in deleted]},
    )
    return result.rowcount


def replace_rows(conn: Connection, mirror: MirrorTable, rows: list[dict]) -> int:
    """A small table (rates) read whole: its rows replaced in one statement pair."""
    target = ident(conn, mirror.schema, mirror.table)
    conn.exec_driver_sql(f"DELETE FROM {target}")
    if rows:
        names = mirror.column_names
        params = ", ".join(f":p{i}" for i in range(len(names)))
        conn.execute(
            text(f"INSERT INTO {target} ({idents(conn, names)}) VALUES ({params})"),
            [{f"p{i}": row.get(c.api_name) for i, c in enumerate(mirror.columns)} for row in rows],
        )
    return len(rows)
