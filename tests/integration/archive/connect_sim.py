"""Heroku Connect, simulated for tests: what Connect installs on a read-write mapping.

Modelled on schema dumps of real Connect databases: `_trigger_log` (and its archive),
`get_xmlbinary()`, a BEFORE trigger that marks app writes PENDING, and an AFTER
trigger logging every app INSERT/UPDATE/DELETE as an hstore of the row. Connect's own
writes run with `xmlbinary = 'hex'`, which the triggers treat as "not an app", so
they are not logged. Only this test fixture creates triggers: org360 never does.
"""

from __future__ import annotations

import string

from sqlalchemy import Connection, text

from archive_service import sfid as sfid_module

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PREFIX = {"account": "001", "contact": "003"}
EXTERNAL_ID = "org360_archive_id__c"


def fake_sfid(obj: str, number: int, org_tag: str = "0") -> str:
    """A valid 18-character id: key prefix, an org tag, `number` in base 62."""
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
        if number == 0:
            break
    body = "".join(reversed(digits)).rjust(11, "0")
    id15 = PREFIX[obj] + org_tag + body
    return id15 + sfid_module.checksum(id15)


def install(conn: Connection, schema: str, obj: str) -> None:
    """Install Connect's trigger log and triggers on `<schema>.<obj>` (a read-write mapping)."""
    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS hstore")
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION public.get_xmlbinary() RETURNS varchar "
        "LANGUAGE sql STABLE AS $$ SELECT current_setting('xmlbinary') $$"
    )
    q = f'"{schema}"'
    for log in ("_trigger_log", "_trigger_log_archive"):
        conn.exec_driver_sql(
            f"""
            CREATE TABLE IF NOT EXISTS {q}.{log} (
                id integer NOT NULL PRIMARY KEY,
                txid bigint,
                created_at timestamp with time zone DEFAULT now(),
                updated_at timestamp with time zone DEFAULT now(),
                processed_at timestamp with time zone,
                processed_tx bigint,
                state character varying(8),
                action character varying(7),
                table_name character varying(128),
                record_id integer,
                sfid character varying(18),
                old text,
                "values" text,
                sf_result integer,
                sf_message text
            )
            """
        )
    conn.exec_driver_sql(f"CREATE SEQUENCE IF NOT EXISTS {q}._trigger_log_id_seq")
    conn.exec_driver_sql(
        f"ALTER TABLE {q}._trigger_log ALTER COLUMN id "
        f"SET DEFAULT nextval('{schema}._trigger_log_id_seq')"
    )
    conn.exec_driver_sql(
        f"""
        CREATE OR REPLACE FUNCTION {q}.hc_{obj}_logger() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            trigger_row {q}._trigger_log;
            excluded_cols text[] = ARRAY['_hc_lastop', '_hc_err']::text[];
        BEGIN
            trigger_row = ROW();
            trigger_row.id = nextval('{schema}._trigger_log_id_seq');
            trigger_row.action = TG_OP::text;
            trigger_row.table_name = TG_TABLE_NAME::text;
            trigger_row.txid = txid_current();
            trigger_row.created_at = clock_timestamp();
            trigger_row.state = 'NEW';
            IF (TG_OP = 'DELETE') THEN
                trigger_row.record_id = OLD.id;
                trigger_row.old = hstore(OLD.*) - excluded_cols;
                IF (OLD.sfid IS NOT NULL) THEN
                    trigger_row.sfid = OLD.sfid;
                END IF;
            ELSEIF (TG_OP = 'INSERT') THEN
                trigger_row.record_id = NEW.id;
                trigger_row.values = hstore(NEW.*) - excluded_cols;
            ELSEIF (TG_OP = 'UPDATE') THEN
                trigger_row.record_id = NEW.id;
                trigger_row.old = hstore(OLD.*) - excluded_cols;
                trigger_row.values = (hstore(NEW.*) - hstore(trigger_row.old)) - excluded_cols;
                IF (OLD.sfid IS NOT NULL) THEN
                    trigger_row.sfid = OLD.sfid;
                END IF;
            END IF;
            INSERT INTO {q}._trigger_log VALUES (trigger_row.*);
            RETURN NULL;
        END;
        $$
        """
    )
    conn.exec_driver_sql(
        f"""
        CREATE OR REPLACE FUNCTION {q}.hc_{obj}_status() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF (get_xmlbinary() = 'base64') THEN  -- user op
                NEW._hc_lastop = 'PENDING';
                NEW._hc_err = NULL;
                RETURN NEW;
            ELSE  -- connect op
                IF (TG_OP = 'UPDATE' AND NEW._hc_lastop IS NOT NULL
                    AND NEW._hc_lastop != OLD._hc_lastop) THEN
                    RETURN NEW;
                END IF;
                NEW._hc_lastop = 'SYNCED';
                NEW._hc_err = NULL;
                RETURN NEW;
            END IF;
        END;
        $$
        """
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER hc_{obj}_logtrigger AFTER INSERT OR UPDATE OR DELETE ON {q}.{obj} "
        "FOR EACH ROW WHEN (public.get_xmlbinary()::text = 'base64'::text) "
        f"EXECUTE FUNCTION {q}.hc_{obj}_logger()"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER hc_{obj}_status_trigger BEFORE INSERT OR UPDATE ON {q}.{obj} "
        f"FOR EACH ROW EXECUTE FUNCTION {q}.hc_{obj}_status()"
    )


def sync_from_salesforce(
    conn: Connection,
    schema: str,
    obj: str,
    count: int,
    start: int = 0,
    org_tag: str = "0",
    modified: str = "2020-01-01",
) -> list[str]:
    """Connect bringing `count` records from Salesforce (not logged, _hc_lastop SYNCED)."""
    sfids = [fake_sfid(obj, n, org_tag) for n in range(start, start + count)]
    name_column = "name" if obj == "account" else "lastname"
    conn.execute(text("SET LOCAL xmlbinary = 'hex'"))
    conn.execute(
        text(
            f'INSERT INTO "{schema}".{obj} (sfid, {name_column}, phone, systemmodstamp, '
            "createddate, isdeleted) "
            "SELECT s, 'Record ' || s, '+1 555 0100', CAST(:modified AS timestamp), "
            "CAST(:modified AS timestamp), false FROM unnest(CAST(:sfids AS varchar[])) AS s"
        ),
        {"sfids": sfids, "modified": modified},
    )
    conn.execute(text("SET LOCAL xmlbinary = 'base64'"))
    return sfids


def process_log(conn: Connection, schema: str, obj: str, org_tag: str = "9") -> dict:
    """Connect processing its trigger log: sends each NEW entry to Salesforce, then,
    writing as Connect (not logged), puts the new sfid on inserted rows and marks
    sent rows INSERTED/UPDATED; entries become SUCCESS. Returns {external id: new sfid}."""
    created: dict[str, str] = {}
    entries = conn.execute(
        text(
            f'SELECT id, action, record_id FROM "{schema}"._trigger_log '
            "WHERE state = 'NEW' AND table_name = :table ORDER BY id"
        ),
        {"table": obj},
    ).all()
    conn.execute(text("SET LOCAL xmlbinary = 'hex'"))
    next_number = conn.execute(text(f'SELECT count(*) FROM "{schema}"._trigger_log')).scalar_one()
    for entry in entries:
        new_sfid = None
        if entry.action == "INSERT":
            new_sfid = fake_sfid(obj, 10_000_000 + next_number + entry.id, org_tag)
            external = conn.execute(
                text(
                    f"UPDATE \"{schema}\".{obj} SET sfid = :sfid, _hc_lastop = 'INSERTED' "
                    f"WHERE id = :id AND sfid IS NULL RETURNING {EXTERNAL_ID}"
                ),
                {"sfid": new_sfid, "id": entry.record_id},
            ).scalar()
            if external is not None:
                created[external] = new_sfid
        elif entry.action == "UPDATE":
            conn.execute(
                text(f"UPDATE \"{schema}\".{obj} SET _hc_lastop = 'UPDATED' WHERE id = :id"),
                {"id": entry.record_id},
            )
        conn.execute(
            text(
                f"UPDATE \"{schema}\"._trigger_log SET state = 'SUCCESS', processed_at = now(), "
                "sfid = coalesce(sfid, :sfid) WHERE id = :id"
            ),
            {"id": entry.id, "sfid": new_sfid},
        )
    conn.execute(text("SET LOCAL xmlbinary = 'base64'"))
    return created


def trigger_log(conn: Connection, schema: str, obj: str) -> list:
    return conn.execute(
        text(
            f"SELECT id, state, action, table_name, record_id, sfid, "
            f"hstore_to_jsonb(CAST(old AS hstore)) AS old, "
            f'hstore_to_jsonb(CAST("values" AS hstore)) AS values FROM "{schema}"._trigger_log '
            "WHERE table_name = :table ORDER BY id"
        ),
        {"table": obj},
    ).all()
