"""The in-memory org: objects, their rows, soft and hard deletion, the replication log of
deletions, the API request allowance, the clock and the pending faults.

Rows are tuples of stored-form values (see `values`) in the object's field order, kept in a
dict by Id: a tuple is about 200 bytes for Account, so a million rows fit in a few hundred MB
beside their own strings, and a Bulk query snapshot is a list of references to immutable
tuples, which later updates replace rather than change.

All methods take `lock`, because tests mutate the org while the server thread reads it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from salesforce_standin.faults import Faults
from salesforce_standin.ids import IdGenerator, normalize_id, pod_for, to_18
from salesforce_standin.schema import (
    STAGE_DEFAULTS,
    FieldDef,
    ObjectDef,
    standard_objects,
    system_fields,
)
from salesforce_standin.values import (
    FALSE,
    NULL,
    STRING_TYPES,
    TRUE,
    InvalidValue,
    StoredValue,
    normalizer,
    render_datetime,
    to_json,
    to_python,
)

Row = tuple[StoredValue, ...]


class UnknownObject(LookupError):
    """No such sObject in this org."""


class UnknownField(LookupError):
    """No such field on the object."""


class RecordError(Exception):
    """A record the API refuses: `code`, `message` and the fields involved, rendered the
    way Bulk API result files show it (``CODE:message:Field --``)."""

    def __init__(
        self, code: str, message: str, fields: Sequence[str] = (), text: str | None = None
    ) -> None:
        super().__init__(f"{code}:{message}")
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.text = text

    def bulk_text(self) -> str:
        if self.text is not None:
            return self.text
        fields = f"{','.join(self.fields)} --" if self.fields else "--"
        return f"{self.code}:{self.message}:{fields}"


class ReplicationDateError(ValueError):
    """A `deleted` request whose dates the org cannot answer for."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Table:
    """One object's definition and rows, with per-field lookups precomputed."""

    def __init__(self, obj: ObjectDef, pod: str) -> None:
        self.obj = obj
        self.ids = IdGenerator(obj.key_prefix, pod)
        self.rows: dict[str, Row] = {}
        # Id -> when it was deleted (soft or hard), for the `deleted` resource.
        self.deleted_log: dict[str, datetime] = {}
        self.rebuild()

    def rebuild(self) -> None:
        fields = self.obj.fields
        self.fields = list(fields)
        self.names = [f.name for f in fields]
        self.index = {f.name: i for i, f in enumerate(fields)}
        self.lower_index = {f.name.lower(): i for i, f in enumerate(fields)}
        self.types = [f.type for f in fields]
        self.normalizers = [normalizer(f.type, f.max_length) for f in fields]
        # For plain text fields a str value is stored as is, after a length check: the
        # insert loop's fast path. 0 marks the other fields (picklists are interned).
        self.plain_length = [
            f.max_length if f.type in STRING_TYPES and f.type != "picklist" else 0 for f in fields
        ]
        self.python = [to_python(f.type) for f in fields]
        self.json = [to_json(f.type) for f in fields]
        self.i_id = self.index["Id"]
        self.i_deleted = self.index["IsDeleted"]
        self.i_created = self.index["CreatedDate"]
        self.i_modified = self.index["LastModifiedDate"]
        self.i_modstamp = self.index["SystemModstamp"]
        self.i_owner = self.index.get("OwnerId")
        self.i_currency = self.index.get("CurrencyIsoCode")

    @property
    def name(self) -> str:
        return self.obj.name

    def resolve(self, field_name: str) -> int:
        i = self.index.get(field_name)
        if i is None:
            i = self.lower_index.get(field_name.lower())
            if i is None:
                raise UnknownField(f"No such column '{field_name}' on entity '{self.name}'")
        return i

    def field(self, field_name: str) -> FieldDef:
        return self.fields[self.resolve(field_name)]

    def template(self, now: str, owner: str | None, currency: str | None) -> list[StoredValue]:
        values = [_initial(f, norm) for f, norm in zip(self.fields, self.normalizers, strict=True)]
        values[self.i_created] = values[self.i_modified] = values[self.i_modstamp] = now
        if self.i_owner is not None:
            values[self.i_owner] = owner
        if self.i_currency is not None:
            values[self.i_currency] = currency
        return values

    def typed(self, row: Row) -> dict[str, Any]:
        python = self.python
        return {
            name: python[i](value) if value else None
            for i, (name, value) in enumerate(zip(self.names, row, strict=True))
        }


def _initial(field: FieldDef, norm: Callable[[Any], StoredValue]) -> StoredValue:
    """A new record's value when the caller gives none: the field's default, false for a
    checkbox (never null in Salesforce), else null."""
    if field.default_value is not None:
        return norm(field.default_value)
    return FALSE if field.type == "boolean" else NULL


class StandinOrg:
    """An org in memory. See the package docstring for the API in a few lines."""

    def __init__(
        self,
        org_id: str = "00D000000000001AAA",
        multi_currency: bool = True,
        *,
        corporate_currency: str = "USD",
        clock: Callable[[], datetime] | None = None,
        api_requests: tuple[int, int] = (100_000, 100_000),
        deleted_retention: timedelta = timedelta(days=15),
        name: str = "Stand-in Org",
    ) -> None:
        self.org_id = to_18(org_id)
        self.name = name
        self.multi_currency = multi_currency
        self.corporate_currency = corporate_currency if multi_currency else None
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = clock or _utcnow
        self.faults = Faults()
        self.deleted_retention = deleted_retention
        self._api_max, self._api_remaining = api_requests
        self._bulk_jobs_max = self._bulk_jobs_remaining = 10_000
        self._pod = pod_for(self.org_id)
        self._generators: dict[str, IdGenerator] = {}
        self._tables: dict[str, Table] = {}
        for obj in standard_objects(multi_currency):
            self._tables[obj.name.lower()] = Table(obj, self._pod)
        self.default_owner_id = self.new_id("005")
        if multi_currency:
            self.insert(
                "CurrencyType",
                [
                    {
                        "IsoCode": corporate_currency,
                        "ConversionRate": 1.0,
                        "IsActive": True,
                        "IsCorporate": True,
                    }
                ],
            )

    # -- clock, limits ----------------------------------------------------------------
    def now(self) -> datetime:
        """The org's "now" from `clock`, as an aware UTC datetime."""
        value = self.clock()
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def api_requests(self) -> tuple[int, int]:
        """(max, remaining) daily API requests; every /services/data request spends one
        once it is answered (so /limits reports what was left when it was asked)."""
        with self.lock:
            return self._api_max, self._api_remaining

    @api_requests.setter
    def api_requests(self, value: tuple[int, int]) -> None:
        with self.lock:
            self._api_max, self._api_remaining = int(value[0]), int(value[1])

    def spend_api_request(self) -> bool:
        """Spend one request; False (and nothing spent) when none is left."""
        with self.lock:
            if self._api_remaining <= 0:
                return False
            self._api_remaining -= 1
            return True

    @property
    def bulk_query_jobs(self) -> tuple[int, int]:
        """(max, remaining) daily Bulk API 2.0 query jobs."""
        with self.lock:
            return self._bulk_jobs_max, self._bulk_jobs_remaining

    @bulk_query_jobs.setter
    def bulk_query_jobs(self, value: tuple[int, int]) -> None:
        with self.lock:
            self._bulk_jobs_max, self._bulk_jobs_remaining = int(value[0]), int(value[1])

    def spend_bulk_query_job(self) -> bool:
        with self.lock:
            if self._bulk_jobs_remaining <= 0:
                return False
            self._bulk_jobs_remaining -= 1
            return True

    def new_id(self, key_prefix: str) -> str:
        """A fresh id with this key prefix (005 for users, 750 for jobs, ...)."""
        with self.lock:
            generator = self._generators.get(key_prefix)
            if generator is None:
                generator = self._generators[key_prefix] = IdGenerator(key_prefix, self._pod)
            return generator.next()

    # -- schema -----------------------------------------------------------------------
    def table(self, object_name: str) -> Table:
        table = self._tables.get(object_name.lower())
        if table is None:
            raise UnknownObject(f"sObject type '{object_name}' is not supported.")
        return table

    def object_names(self) -> list[str]:
        return [t.name for t in self._tables.values()]

    def add_field(self, object_name: str, field: FieldDef) -> None:
        """Add a (custom) field; existing rows get null (false for a checkbox)."""
        with self.lock:
            table = self.table(object_name)
            if field.name.lower() in table.lower_index:
                raise ValueError(f"{table.name}.{field.name} already exists")
            table.obj.fields.append(field)
            table.rebuild()
            fill: StoredValue = FALSE if field.type == "boolean" else NULL
            for rid, row in table.rows.items():
                table.rows[rid] = (*row, fill)

    def add_object(self, name: str, key_prefix: str, fields: Sequence[FieldDef] = ()) -> None:
        """Add an object (a custom one, or a standard one org360 does not predefine); the
        system fields and, in a multi-currency org, CurrencyIsoCode come with it."""
        with self.lock:
            if name.lower() in self._tables:
                raise ValueError(f"{name} already exists")
            head, tail = system_fields(name)
            extra = []
            if self.multi_currency:
                extra.append(
                    FieldDef(
                        "CurrencyIsoCode", "picklist", 3, label="Currency ISO Code", nillable=False
                    )
                )
            obj = ObjectDef(name, key_prefix, [*head, *fields, *extra, *tail])
            self._tables[name.lower()] = Table(obj, self._pod)

    def describe(self, object_name: str, version: str = "59.0") -> dict[str, Any]:
        """The JSON of GET /services/data/vNN.N/sobjects/{Object}/describe."""
        with self.lock:
            return self.table(object_name).obj.describe(version)

    def describe_global(self, version: str = "59.0") -> dict[str, Any]:
        """The JSON of GET /services/data/vNN.N/sobjects."""
        with self.lock:
            return {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [t.obj.global_entry(version) for t in self._tables.values()],
            }

    # -- writes -----------------------------------------------------------------------
    def insert(self, object_name: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Insert rows (API field name -> value); returns their ids in order. A row may
        carry its own Id (15 or 18 characters) and system dates; all rows are checked
        before any is stored."""
        with self.lock:
            table = self.table(object_name)
            now = render_datetime(self.now())
            template = table.template(now, self.default_owner_id, self.corporate_currency)
            index = table.index
            plain = table.plain_length
            norms = table.normalizers
            i_id = table.i_id
            existing = table.rows
            derive = table.name == "Opportunity"
            new: dict[str, Row] = {}
            key = ""
            # A million new tuples would set off a full cyclic collection over the whole
            # heap many times over; rows hold no cycles, so collection can wait.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for row in rows:
                    values = template.copy()
                    for key, value in row.items():
                        i = index.get(key)
                        if i is None:
                            i = table.resolve(key)
                        limit = plain[i]
                        if limit and value.__class__ is str:
                            if len(value) > limit:
                                raise InvalidValue(
                                    "STRING_TOO_LONG",
                                    f"data value too large: {value[:40]} (max length={limit})",
                                )
                            values[i] = value  # "" is null as it is
                        else:
                            values[i] = norms[i](value)
                    rid = values[i_id]
                    if not rid:
                        rid = table.ids.next()
                        while rid in existing or rid in new:
                            rid = table.ids.next()
                        values[i_id] = rid
                    elif rid in existing or rid in new:
                        raise ValueError(f"{table.name} {rid} already exists")
                    if derive:
                        _derive_opportunity(table, values, row)
                    new[rid] = tuple(values)
            except InvalidValue as error:
                raise InvalidValue(error.code, error.message, _field_name(table, key)) from None
            finally:
                if collecting:
                    gc.enable()
            existing.update(new)
            return list(new)

    def update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Change fields of a row (soft-deleted ones too); LastModifiedDate and
        SystemModstamp move to now unless `values` sets them."""
        with self.lock:
            table = self.table(object_name)
            rid = _norm_id(record_id)
            old = table.rows.get(rid)
            if old is None:
                raise KeyError(f"no {table.name} {record_id}")
            self._apply(table, rid, old, values)

    def _apply(self, table: Table, rid: str, old: Row, values: Mapping[str, Any]) -> None:
        row = list(old)
        now = render_datetime(self.now())
        row[table.i_modified] = row[table.i_modstamp] = now
        key = ""
        try:
            for key, value in values.items():
                i = table.resolve(key)
                row[i] = table.normalizers[i](value)
        except InvalidValue as error:
            raise InvalidValue(error.code, error.message, _field_name(table, key)) from None
        if table.name == "Opportunity" and any(k.lower() == "stagename" for k in values):
            _derive_opportunity(table, row, values)
        table.rows[rid] = tuple(row)

    def delete(self, object_name: str, record_ids: Iterable[str]) -> None:
        """Soft delete: IsDeleted true, into the recycle bin (queryAll still sees the row),
        SystemModstamp moves, and the deletion is logged for the `deleted` resource.
        Rows already deleted are left alone."""
        with self.lock:
            table = self.table(object_name)
            now_dt = self.now()
            now = render_datetime(now_dt)
            for record_id in record_ids:
                rid = _norm_id(record_id)
                old = table.rows.get(rid)
                if old is None:
                    raise KeyError(f"no {table.name} {record_id}")
                if old[table.i_deleted] == TRUE:
                    continue
                row = list(old)
                row[table.i_deleted] = TRUE
                row[table.i_modstamp] = now
                table.rows[rid] = tuple(row)
                table.deleted_log[rid] = now_dt

    def undelete(self, object_name: str, record_ids: Iterable[str]) -> None:
        """Restore soft-deleted rows from the recycle bin."""
        with self.lock:
            table = self.table(object_name)
            now = render_datetime(self.now())
            for record_id in record_ids:
                rid = _norm_id(record_id)
                old = table.rows.get(rid)
                if old is None:
                    raise KeyError(f"no {table.name} {record_id} in the recycle bin")
                row = list(old)
                row[table.i_deleted] = FALSE
                row[table.i_modstamp] = now
                table.rows[rid] = tuple(row)
                table.deleted_log.pop(rid, None)

    def purge(self, object_name: str, record_ids: Iterable[str]) -> None:
        """Hard delete (recycle bin emptied, or never used): the row is gone from every
        query; the `deleted` resource still reports it, dated when it was first deleted."""
        with self.lock:
            table = self.table(object_name)
            now_dt = self.now()
            for record_id in record_ids:
                rid = _norm_id(record_id)
                if table.rows.pop(rid, None) is None:
                    raise KeyError(f"no {table.name} {record_id}")
                table.deleted_log.setdefault(rid, now_dt)

    # -- reads ------------------------------------------------------------------------
    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        """The row as API field name -> Python value, or None if it does not exist (or was
        purged). Soft-deleted rows are returned, with IsDeleted True."""
        with self.lock:
            table = self.table(object_name)
            try:
                row = table.rows.get(_norm_id(record_id))
            except ValueError:
                return None
            return None if row is None else table.typed(row)

    def rows(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every row as a dict of Python values, in insertion order."""
        with self.lock:
            table = self.table(object_name)
            return [
                table.typed(row)
                for row in table.rows.values()
                if include_deleted or row[table.i_deleted] == FALSE
            ]

    def count(self, object_name: str, include_deleted: bool = False) -> int:
        with self.lock:
            table = self.table(object_name)
            if include_deleted:
                return len(table.rows)
            i = table.i_deleted
            return sum(1 for row in table.rows.values() if row[i] == FALSE)

    def snapshot(self, object_name: str) -> tuple[Table, list[Row]]:
        """The table and a list of its current rows (tuples are never changed in place,
        so the list is a consistent snapshot whatever happens to the org later)."""
        with self.lock:
            table = self.table(object_name)
            return table, list(table.rows.values())

    def deleted(self, object_name: str, start: datetime, end: datetime) -> dict[str, Any]:
        """The JSON of the `deleted` resource: records deleted (soft or hard) in
        [start, end]. Deletions older than `deleted_retention` are forgotten."""
        with self.lock:
            table = self.table(object_name)
            now = self.now()
            earliest = (now - self.deleted_retention).replace(second=0, microsecond=0)
            for rid, when in list(table.deleted_log.items()):
                if when < earliest:
                    del table.deleted_log[rid]
            if end < start:
                raise ReplicationDateError("endDate must be after startDate")
            if start < earliest or start < now - timedelta(days=30):
                raise ReplicationDateError(
                    "startDate cannot be before the earliest date available: "
                    + _rest_datetime(earliest)
                )
            latest = min(end, now).replace(second=0, microsecond=0)
            found = sorted(
                (when, rid) for rid, when in table.deleted_log.items() if start <= when <= end
            )
            return {
                "deletedRecords": [
                    {"id": rid, "deletedDate": _rest_datetime(when)} for when, rid in found
                ],
                "earliestDateAvailable": _rest_datetime(earliest),
                "latestDateCovered": _rest_datetime(latest),
            }

    # -- the API's rules, for Bulk ingest -------------------------------------------------
    def api_insert(self, object_name: str, values: Mapping[str, Any]) -> str:
        """Insert as the API would: only createable fields, required fields present."""
        with self.lock:
            table = self.table(object_name)
            self._check_writable(table, values, "createable")
            given = {table.field(k).name for k, v in values.items() if v is not None}
            missing = [
                f.name
                for f in table.fields
                if not f.nillable
                and f.createable
                and f.type != "boolean"
                and f.name not in given
                and f.default_value is None
                and f.name not in ("OwnerId", "CurrencyIsoCode")
            ]
            if missing:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            try:
                return self.insert(object_name, [values])[0]
            except InvalidValue as error:
                raise _record_error(table, error) from None

    def api_update(self, object_name: str, record_id: str, values: Mapping[str, Any]) -> str:
        """Update as the API would: the row exists and is not deleted, every field is
        updateable, required fields are not nulled, and the fault's ingest errors apply."""
        with self.lock:
            table = self.table(object_name)
            rid = self._api_live_row(table, record_id)
            self._check_writable(table, values, "updateable")
            nulled = [
                table.field(k).name
                for k, v in values.items()
                if v is None and not table.field(k).nillable
            ]
            if nulled:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(nulled)}]",
                    nulled,
                )
            try:
                self._apply(table, rid, table.rows[rid], values)
            except InvalidValue as error:
                raise _record_error(table, error) from None
            return rid

    def api_delete(self, object_name: str, record_id: str, hard: bool = False) -> str:
        with self.lock:
            table = self.table(object_name)
            rid = self._api_live_row(table, record_id)
            self.delete(object_name, [rid])
            if hard:
                self.purge(object_name, [rid])
            return rid

    def _api_live_row(self, table: Table, record_id: str) -> str:
        try:
            rid = _norm_id(record_id)
        except ValueError:
            raise RecordError(
                "MALFORMED_ID", f"{table.name} ID: id value of incorrect type: {record_id}", ["Id"]
            ) from None
        message = self.faults.ingest_errors.get(rid) or self.faults.ingest_errors.get(rid[:15])
        row = table.rows.get(rid)
        if row is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if row[table.i_deleted] == TRUE:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        if message is not None:
            code, _, rest = message.partition(":")
            raise RecordError(code, rest, text=message)
        return rid

    @staticmethod
    def _check_writable(table: Table, values: Mapping[str, Any], flag: str) -> None:
        bad = []
        for key in values:
            try:
                field = table.field(key)
            except UnknownField:
                raise RecordError(
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {table.name}",
                    [key],
                ) from None
            if not getattr(field, flag) and field.name != "Id":
                bad.append(field.name)
        if bad:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(bad)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                bad,
            )


def _norm_id(record_id: str) -> str:
    return normalize_id(record_id)


def _rest_datetime(value: datetime) -> str:
    return render_datetime(value)[:-1] + "+0000"


def _field_name(table: Table, key: str) -> str:
    try:
        return table.names[table.resolve(key)]
    except UnknownField:
        return key


def _record_error(table: Table, error: InvalidValue) -> RecordError:
    fields = [error.field] if error.field else []
    return RecordError(
        error.code, f"{error.field}: {error.message}" if error.field else error.message, fields
    )


def _derive_opportunity(table: Table, values: list[StoredValue], given: Mapping[str, Any]) -> None:
    """What Salesforce derives from the stage unless the caller set it: IsClosed and IsWon
    (read-only in the API), and the stage's forecast category and probability."""
    stage = values[table.index["StageName"]]
    defaults = STAGE_DEFAULTS.get(stage or "")
    if defaults is None:
        return
    lowered = {k.lower() for k in given}
    closed, won, forecast, probability = defaults
    if "isclosed" not in lowered:
        values[table.index["IsClosed"]] = TRUE if closed else FALSE
    if "iswon" not in lowered:
        values[table.index["IsWon"]] = TRUE if won else FALSE
    if "forecastcategoryname" not in lowered:
        values[table.index["ForecastCategoryName"]] = forecast
    if "probability" not in lowered:
        values[table.index["Probability"]] = probability
