-- Installs the archive service's stored procedures (first version). The current
-- definitions live in warehouse_sql/procedures/archive.sql; later changes go in new
-- migrations, and a test checks that the migrated database matches that file.

-- The columns an archive table adds to the live table's; a live column with one of
-- these names would be shadowed, so ensure_table_v1 refuses it.
CREATE OR REPLACE FUNCTION archive.reserved_columns_v1()
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['archive_org', 'archived_at', 'archived_by', 'archive_job_id',
                 'restored_at', 'restored_by', 'restore_job_id', 'restore_external_id',
                 'restored_sfid']
$$;

-- The object-specific columns of archive.account_all / archive.contact_all, in view
-- order, with the Heroku Connect column each is read from unless the org maps it
-- elsewhere. Must match 0002_archive_views.sql, which the OData service reads.
CREATE OR REPLACE FUNCTION archive.view_fields_v1(p_object text)
RETURNS TABLE (pos integer, name text, sql_type text, default_column text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT v.pos, v.name, v.sql_type, v.default_column
    FROM (VALUES
        ('account', 1, 'name',            'varchar(255)', 'name'),
        ('account', 2, 'website',         'varchar(255)', 'website'),
        ('account', 3, 'phone',           'varchar(40)',  'phone'),
        ('account', 4, 'billing_city',    'varchar(40)',  'billingcity'),
        ('account', 5, 'billing_country', 'varchar(80)',  'billingcountry'),
        ('contact', 1, 'first_name',      'varchar(40)',  'firstname'),
        ('contact', 2, 'last_name',       'varchar(80)',  'lastname'),
        ('contact', 3, 'email',           'varchar(80)',  'email'),
        ('contact', 4, 'phone',           'varchar(40)',  'phone'),
        ('contact', 5, 'account_sfid',    'varchar(18)',  'accountid')
    ) AS v (object, pos, name, sql_type, default_column)
    WHERE v.object = p_object
$$;

-- Sum two {"outcome": n} objects.
CREATE OR REPLACE FUNCTION archive.add_counts_v1(p_a jsonb, p_b jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (
        SELECT key, sum(value::bigint) AS total
        FROM (
            SELECT * FROM jsonb_each_text(coalesce(p_a, '{}'::jsonb))
            UNION ALL
            SELECT * FROM jsonb_each_text(coalesce(p_b, '{}'::jsonb))
        ) AS pairs
        GROUP BY key
    ) AS sums
$$;

-- Rebuild archive.account_all and archive.contact_all over every registered archive
-- table, keeping the column list and types of 0002 (CREATE OR REPLACE VIEW refuses
-- anything else, which is the point: the OData service depends on them).
CREATE OR REPLACE FUNCTION archive.rebuild_views_v1()
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_object  text;
    v_parts   text[];
    v_select  text;
    v_column  text;
    v_table   regclass;
    v_entry   record;
    v_field   record;
BEGIN
    FOREACH v_object IN ARRAY ARRAY['account', 'contact'] LOOP
        v_parts := ARRAY[]::text[];
        FOR v_entry IN
            SELECT * FROM archive.archived_object WHERE object = v_object ORDER BY org
        LOOP
            v_table := to_regclass(format('archive.%I', v_entry.table_name));
            CONTINUE WHEN v_table IS NULL;
            v_select := format(
                'SELECT CAST(%L || t.sfid AS varchar(60)) AS archive_key, '
                'CAST(%L AS varchar(40)) AS org, CAST(t.sfid AS varchar(18)) AS sfid',
                v_entry.org || '/', v_entry.org);
            FOR v_field IN SELECT * FROM archive.view_fields_v1(v_object) ORDER BY pos LOOP
                v_column := coalesce(v_entry.view_columns ->> v_field.name, v_field.default_column);
                IF EXISTS (SELECT 1 FROM pg_attribute
                           WHERE attrelid = v_table AND attname = v_column
                             AND attnum > 0 AND NOT attisdropped) THEN
                    v_select := v_select || format(', CAST(t.%I AS %s) AS %I',
                                                   v_column, v_field.sql_type, v_field.name);
                ELSE
                    v_select := v_select || format(', CAST(NULL AS %s) AS %I',
                                                   v_field.sql_type, v_field.name);
                END IF;
            END LOOP;
            v_parts := v_parts || (v_select || format(
                ', CAST(t.systemmodstamp AS timestamp) AS systemmodstamp, '
                'CAST(t.archived_at AS timestamptz) AS archived_at, '
                'CAST(t.archived_by AS varchar(255)) AS archived_by, '
                'CAST(t.archive_job_id AS varchar(40)) AS job_id, '
                'CAST(t.restored_at AS timestamptz) AS restored_at, '
                'CAST(t.restored_sfid AS varchar(18)) AS restored_sfid '
                'FROM archive.%I t', v_entry.table_name));
        END LOOP;
        IF cardinality(v_parts) = 0 THEN
            v_select := 'SELECT CAST(NULL AS varchar(60)) AS archive_key, '
                        'CAST(NULL AS varchar(40)) AS org, CAST(NULL AS varchar(18)) AS sfid';
            FOR v_field IN SELECT * FROM archive.view_fields_v1(v_object) ORDER BY pos LOOP
                v_select := v_select || format(', CAST(NULL AS %s) AS %I',
                                               v_field.sql_type, v_field.name);
            END LOOP;
            v_parts := ARRAY[v_select ||
                ', CAST(NULL AS timestamp) AS systemmodstamp, '
                'CAST(NULL AS timestamptz) AS archived_at, '
                'CAST(NULL AS varchar(255)) AS archived_by, '
                'CAST(NULL AS varchar(40)) AS job_id, '
                'CAST(NULL AS timestamptz) AS restored_at, '
                'CAST(NULL AS varchar(18)) AS restored_sfid WHERE false'];
        END IF;
        EXECUTE format('CREATE OR REPLACE VIEW archive.%I AS %s',
                       v_object || '_all', array_to_string(v_parts, ' UNION ALL '));
    END LOOP;
END;
$$;

-- Create archive.<org>_<object> from the live Heroku Connect table when first needed,
-- add columns the Connect mapping gained since, register the table and rebuild the
-- views when anything changed. p_view_columns maps view columns to the org's own
-- columns where they differ from Connect's defaults. Returns the table name.
CREATE OR REPLACE FUNCTION archive.ensure_table_v1(
    p_org text, p_object text, p_source_schema text, p_view_columns jsonb
)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_table    text := p_org || '_' || p_object;
    v_live     regclass;
    v_archive  regclass;
    v_changed  boolean := false;
    v_column   record;
BEGIN
    IF p_object NOT IN ('account', 'contact') THEN
        RAISE EXCEPTION 'unknown object %: expected account or contact', p_object
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_live := to_regclass(format('%I.%I', p_source_schema, p_object));
    IF v_live IS NULL THEN
        RAISE EXCEPTION 'live table %.% does not exist', p_source_schema, p_object
            USING ERRCODE = 'undefined_table',
                  HINT = 'map the object in this org''s Heroku Connect connection';
    END IF;
    SELECT attname INTO v_column FROM pg_attribute
    WHERE attrelid = v_live AND attnum > 0 AND NOT attisdropped
      AND attname = ANY (archive.reserved_columns_v1())
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'live table %.% has a column %, a name the archive table reserves',
            p_source_schema, p_object, v_column.attname
            USING ERRCODE = 'duplicate_column';
    END IF;

    -- Two workers can start an org's first jobs at the same moment.
    PERFORM pg_advisory_xact_lock(hashtext('org360.archive.ensure_table'));

    v_archive := to_regclass(format('archive.%I', v_table));
    IF v_archive IS NULL THEN
        EXECUTE format('CREATE TABLE archive.%I (LIKE %s)', v_table, v_live);
        EXECUTE format(
            'ALTER TABLE archive.%I '
            'ADD COLUMN archive_org varchar(40) NOT NULL, '
            'ADD COLUMN archived_at timestamptz NOT NULL, '
            'ADD COLUMN archived_by varchar(255), '
            'ADD COLUMN archive_job_id varchar(40) NOT NULL, '
            'ADD COLUMN restored_at timestamptz, '
            'ADD COLUMN restored_by varchar(255), '
            'ADD COLUMN restore_job_id varchar(40), '
            'ADD COLUMN restore_external_id varchar(64), '
            'ADD COLUMN restored_sfid varchar(18), '
            'ADD PRIMARY KEY (sfid)', v_table);
        EXECUTE format('CREATE INDEX ON archive.%I (archive_job_id)', v_table);
        EXECUTE format('CREATE INDEX ON archive.%I (restore_job_id)', v_table);
        EXECUTE format('CREATE INDEX ON archive.%I (systemmodstamp)', v_table);
        -- Restores still waiting for Heroku Connect to write the new sfid.
        EXECUTE format('CREATE INDEX ON archive.%I (restore_external_id) '
                       'WHERE restored_at IS NOT NULL AND restored_sfid IS NULL', v_table);
        v_changed := true;
    ELSE
        FOR v_column IN
            SELECT l.attname, format_type(l.atttypid, l.atttypmod) AS sql_type
            FROM pg_attribute l
            WHERE l.attrelid = v_live AND l.attnum > 0 AND NOT l.attisdropped
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = v_archive AND a.attname = l.attname
                                AND NOT a.attisdropped)
            ORDER BY l.attnum
        LOOP
            EXECUTE format('ALTER TABLE archive.%I ADD COLUMN %I %s',
                           v_table, v_column.attname, v_column.sql_type);
            v_changed := true;
        END LOOP;
    END IF;

    INSERT INTO archive.archived_object AS o (org, object, source_schema, table_name, view_columns)
    VALUES (p_org, p_object, p_source_schema, v_table, coalesce(p_view_columns, '{}'::jsonb))
    ON CONFLICT (org, object) DO UPDATE
        SET source_schema = EXCLUDED.source_schema, view_columns = EXCLUDED.view_columns
        WHERE (o.source_schema, o.view_columns)
              IS DISTINCT FROM (EXCLUDED.source_schema, EXCLUDED.view_columns);
    IF FOUND THEN
        v_changed := true;
    END IF;
    IF v_changed THEN
        PERFORM archive.rebuild_views_v1();
    END IF;
    RETURN v_table;
END;
$$;

-- Claim the next records of a job that no batch has processed. Without p_wait,
-- records another worker holds are skipped; with it, we wait for that worker, so the
-- last batches of a job are finished even when the worker holding them died.
CREATE OR REPLACE FUNCTION archive.claim_batch_v1(
    p_job_id text, p_batch_size integer, p_wait boolean
)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_sfids text[];
BEGIN
    IF p_wait THEN
        SELECT array_agg(sfid ORDER BY sfid) INTO v_sfids FROM (
            SELECT sfid FROM archive.job_record
            WHERE job_id = p_job_id AND outcome IS NULL
            ORDER BY sfid LIMIT p_batch_size
            FOR UPDATE
        ) AS claimed;
    ELSE
        SELECT array_agg(sfid ORDER BY sfid) INTO v_sfids FROM (
            SELECT sfid FROM archive.job_record
            WHERE job_id = p_job_id AND outcome IS NULL
            ORDER BY sfid LIMIT p_batch_size
            FOR UPDATE SKIP LOCKED
        ) AS claimed;
    END IF;
    RETURN v_sfids;
END;
$$;

-- The two batch statements below never join one CTE to another: a CTE has no index,
-- and when statistics make the planner expect a handful of rows it picks a nested loop
-- that rescans the whole batch once per record (seconds per batch). Each CTE is joined
-- to an indexed table instead (its pre-statement snapshot gives the "before" state),
-- and the rows a data-modifying CTE returned are tested with IN (a hashed subplan).

-- Archive the next batch of an archive job: lock the live rows, copy them to the
-- archive table and delete them from the Heroku Connect table (Connect's trigger
-- logs each DELETE, and Connect deletes the record in Salesforce). Every claimed
-- record gets an outcome: archived, already_archived, pending_in_connect (Connect
-- has not synced the row's last change, so deleting it now would race Connect) or
-- not_found. Returns how many records the batch settled (0: nothing left to claim).
CREATE OR REPLACE FUNCTION archive.archive_next_batch_v1(
    p_job_id text, p_batch_size integer, p_wait boolean
)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_job      archive.job;
    v_sfids    text[];
    v_live     regclass;
    v_archive  regclass;
    v_columns  text;
    v_refresh  text;
    v_counts   jsonb;
    v_settled  integer;
BEGIN
    SELECT * INTO v_job FROM archive.job WHERE job_id = p_job_id;
    IF NOT FOUND OR v_job.kind <> 'archive' THEN
        RAISE EXCEPTION 'no archive job %', p_job_id USING ERRCODE = 'no_data_found';
    END IF;
    v_live := to_regclass(format('%I.%I', v_job.source_schema, v_job.object));
    v_archive := to_regclass(format('archive.%I', v_job.org || '_' || v_job.object));
    IF v_live IS NULL OR v_archive IS NULL THEN
        RAISE EXCEPTION 'job %: live table %.% or its archive table is missing',
            p_job_id, v_job.source_schema, v_job.object USING ERRCODE = 'undefined_table';
    END IF;

    v_sfids := archive.claim_batch_v1(p_job_id, p_batch_size, p_wait);
    IF v_sfids IS NULL THEN
        RETURN 0;
    END IF;

    -- Lock in sfid order, live rows first: two jobs over the same records then queue
    -- behind each other instead of deadlocking, and each sees the other's result.
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE sfid = ANY ($1) '
                   'ORDER BY sfid FOR UPDATE) AS l', v_live) USING v_sfids;
    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE sfid = ANY ($1) '
                   'ORDER BY sfid FOR UPDATE) AS a', v_archive) USING v_sfids;

    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(format('%I = EXCLUDED.%I', attname, attname), ', ' ORDER BY attnum)
               FILTER (WHERE attname <> 'sfid')
    INTO v_columns, v_refresh
    FROM pg_attribute
    WHERE attrelid = v_live AND attnum > 0 AND NOT attisdropped;

    EXECUTE format($sql$
        WITH requested AS MATERIALIZED (
            SELECT unnest($1::text[]) AS sfid
        ), moved AS (
            DELETE FROM %1$s t
            WHERE t.sfid = ANY ($1)
              AND coalesce(t._hc_lastop, '') NOT IN ('PENDING', 'FAILED')
              AND t.isdeleted IS NOT TRUE
              AND NOT EXISTS (SELECT 1 FROM %2$s a
                              WHERE a.sfid = t.sfid AND a.restored_at IS NOT NULL)
            RETURNING t.*
        ), stored AS (
            -- A conflict means Connect could not delete the record in Salesforce and
            -- it came back, changed: keep the newer copy.
            INSERT INTO %2$s (%3$s, archive_org, archived_at, archived_by, archive_job_id)
            SELECT %3$s, $2, now(), $3, $4 FROM moved
            ON CONFLICT (sfid) DO UPDATE SET %4$s,
                archived_at = EXCLUDED.archived_at, archived_by = EXCLUDED.archived_by,
                archive_job_id = EXCLUDED.archive_job_id
            RETURNING sfid
        ), outcomes AS MATERIALIZED (
            -- l and a are the live and archive rows as they were before this statement.
            SELECT r.sfid,
                CASE
                    WHEN r.sfid IN (SELECT sfid FROM stored) THEN 'archived'
                    WHEN l.sfid IS NOT NULL AND l.isdeleted IS NOT TRUE
                         AND a.restored_at IS NULL THEN 'pending_in_connect'
                    WHEN a.sfid IS NOT NULL AND a.restored_at IS NULL THEN 'already_archived'
                    ELSE 'not_found'
                END AS outcome,
                CASE
                    WHEN r.sfid IN (SELECT sfid FROM stored) THEN NULL
                    WHEN l.sfid IS NOT NULL AND l.isdeleted IS NOT TRUE AND a.restored_at IS NULL
                        THEN 'Heroku Connect has not synced the last change to this record '
                             || '(_hc_lastop ' || coalesce(l._hc_lastop, 'NULL') || ')'
                             || coalesce(': ' || l._hc_err, '')
                    WHEN a.sfid IS NOT NULL AND a.restored_at IS NULL
                        THEN 'already in ' || $5
                    WHEN a.sfid IS NOT NULL
                        THEN 'archived, then restored as '
                             || coalesce(a.restored_sfid, 'a record Heroku Connect has not created yet')
                    WHEN l.isdeleted THEN 'deleted in Salesforce'
                    ELSE 'no record with this sfid in ' || $6
                END AS detail
            FROM requested r
            LEFT JOIN %1$s l ON l.sfid = r.sfid
            LEFT JOIN %2$s a ON a.sfid = r.sfid
        ), marked AS (
            UPDATE archive.job_record j SET outcome = o.outcome, detail = o.detail
            FROM outcomes o
            WHERE j.job_id = $4 AND j.sfid = o.sfid
            RETURNING o.outcome
        )
        SELECT coalesce(jsonb_object_agg(outcome, n), '{}'::jsonb), coalesce(sum(n), 0)::integer
        FROM (SELECT outcome, count(*) AS n FROM marked GROUP BY outcome) AS per_outcome
    $sql$, v_live, v_archive, v_columns, v_refresh)
    INTO v_counts, v_settled
    USING v_sfids, v_job.org, v_job.requested_by, p_job_id, v_archive::text, v_live::text;

    UPDATE archive.job
    SET processed = processed + v_settled, counts = archive.add_counts_v1(counts, v_counts)
    WHERE job_id = p_job_id;
    RETURN v_settled;
END;
$$;

-- Unarchive the next batch of an unarchive job: insert each archived row back into
-- the Heroku Connect table without sfid (Connect creates the record in Salesforce)
-- and with a fresh value in the org's External ID field, so that Connect upserts on
-- it and a retried write cannot create a second record; then mark the archive row
-- restored. p_keep_out lists columns Salesforce sets itself (never written back).
-- Outcomes: unarchived, already_unarchived, not_archived (the record is live) or
-- not_found. Returns how many records the batch settled (0: nothing left to claim).
CREATE OR REPLACE FUNCTION archive.unarchive_next_batch_v1(
    p_job_id text, p_batch_size integer, p_wait boolean,
    p_external_id_column text, p_keep_out text[]
)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_job      archive.job;
    v_sfids    text[];
    v_live     regclass;
    v_archive  regclass;
    v_columns  text;
    v_counts   jsonb;
    v_settled  integer;
BEGIN
    SELECT * INTO v_job FROM archive.job WHERE job_id = p_job_id;
    IF NOT FOUND OR v_job.kind <> 'unarchive' THEN
        RAISE EXCEPTION 'no unarchive job %', p_job_id USING ERRCODE = 'no_data_found';
    END IF;
    v_live := to_regclass(format('%I.%I', v_job.source_schema, v_job.object));
    v_archive := to_regclass(format('archive.%I', v_job.org || '_' || v_job.object));
    IF v_live IS NULL OR v_archive IS NULL THEN
        RAISE EXCEPTION 'job %: live table %.% or its archive table is missing',
            p_job_id, v_job.source_schema, v_job.object USING ERRCODE = 'undefined_table';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = v_live AND attname = p_external_id_column
                     AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'live table % has no column %', v_live, p_external_id_column
            USING ERRCODE = 'undefined_column',
                  HINT = 'create this External ID field in Salesforce and map it in Heroku Connect';
    END IF;

    v_sfids := archive.claim_batch_v1(p_job_id, p_batch_size, p_wait);
    IF v_sfids IS NULL THEN
        RETURN 0;
    END IF;

    EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE sfid = ANY ($1) '
                   'ORDER BY sfid FOR UPDATE) AS a', v_archive) USING v_sfids;

    SELECT string_agg(quote_ident(l.attname), ', ' ORDER BY l.attnum) INTO v_columns
    FROM pg_attribute l
    WHERE l.attrelid = v_live AND l.attnum > 0 AND NOT l.attisdropped
      AND l.attname <> ALL (ARRAY['id', 'sfid', '_hc_lastop', '_hc_err', p_external_id_column]
                            || coalesce(p_keep_out, ARRAY[]::text[]))
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = v_archive AND a.attname = l.attname AND NOT a.attisdropped);

    EXECUTE format($sql$
        WITH requested AS MATERIALIZED (
            SELECT unnest($1::text[]) AS sfid
        ), chosen AS MATERIALIZED (
            SELECT a.*, CAST(gen_random_uuid() AS text) AS new_external_id
            FROM %2$s a WHERE a.sfid = ANY ($1) AND a.restored_at IS NULL
        ), inserted AS (
            INSERT INTO %1$s (%3$s, %4$I)
            SELECT %3$s, new_external_id FROM chosen
            RETURNING 1
        ), restored AS (
            UPDATE %2$s a
            SET restored_at = now(), restored_by = $2, restore_job_id = $3,
                restore_external_id = c.new_external_id
            FROM chosen c WHERE a.sfid = c.sfid
            RETURNING a.sfid
        ), outcomes AS MATERIALIZED (
            -- a and l are the archive and live rows as they were before this statement.
            SELECT r.sfid,
                CASE
                    WHEN r.sfid IN (SELECT sfid FROM restored) THEN 'unarchived'
                    WHEN a.sfid IS NOT NULL THEN 'already_unarchived'
                    WHEN l.sfid IS NOT NULL THEN 'not_archived'
                    ELSE 'not_found'
                END AS outcome,
                CASE
                    WHEN r.sfid IN (SELECT sfid FROM restored) THEN NULL
                    WHEN a.sfid IS NOT NULL
                        THEN 'restored at ' || a.restored_at || ' as '
                             || coalesce(a.restored_sfid, 'a record Heroku Connect has not created yet')
                    WHEN l.sfid IS NOT NULL THEN 'the record is live in ' || $4
                    ELSE 'no archived record with this sfid in ' || $5
                END AS detail
            FROM requested r
            LEFT JOIN %2$s a ON a.sfid = r.sfid
            LEFT JOIN %1$s l ON l.sfid = r.sfid
        ), marked AS (
            UPDATE archive.job_record j SET outcome = o.outcome, detail = o.detail
            FROM outcomes o
            WHERE j.job_id = $3 AND j.sfid = o.sfid
            RETURNING o.outcome
        )
        SELECT coalesce(jsonb_object_agg(outcome, n), '{}'::jsonb), coalesce(sum(n), 0)::integer
        FROM (SELECT outcome, count(*) AS n FROM marked GROUP BY outcome) AS per_outcome
    $sql$, v_live, v_archive, v_columns, p_external_id_column)
    INTO v_counts, v_settled
    USING v_sfids, v_job.requested_by, p_job_id, v_live::text, v_archive::text;

    UPDATE archive.job
    SET processed = processed + v_settled, counts = archive.add_counts_v1(counts, v_counts)
    WHERE job_id = p_job_id;
    RETURN v_settled;
END;
$$;

-- Once Heroku Connect has created a restored record in Salesforce and written its
-- sfid back, record old -> new on the archive row (matched on the External ID value
-- the unarchive wrote). Returns how many restores were completed.
CREATE OR REPLACE FUNCTION archive.record_restored_sfids_v1(
    p_org text, p_object text, p_external_id_column text
)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_entry    archive.archived_object;
    v_live     regclass;
    v_archive  regclass;
    v_waiting  boolean;
    v_done     integer;
BEGIN
    SELECT * INTO v_entry FROM archive.archived_object WHERE org = p_org AND object = p_object;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    v_live := to_regclass(format('%I.%I', v_entry.source_schema, v_entry.object));
    v_archive := to_regclass(format('archive.%I', v_entry.table_name));
    IF v_live IS NULL OR v_archive IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = v_live AND attname = p_external_id_column
          AND attnum > 0 AND NOT attisdropped) THEN
        RETURN 0;
    END IF;
    -- Most calls find nothing waiting; skip the join with the live table then.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE restored_at IS NOT NULL '
                   'AND restored_sfid IS NULL)', v_archive) INTO v_waiting;
    IF NOT v_waiting THEN
        RETURN 0;
    END IF;
    EXECUTE format(
        'UPDATE %s a SET restored_sfid = l.sfid FROM %s l '
        'WHERE a.restored_at IS NOT NULL AND a.restored_sfid IS NULL '
        'AND l.%I = a.restore_external_id AND l.sfid IS NOT NULL',
        v_archive, v_live, p_external_id_column);
    GET DIAGNOSTICS v_done = ROW_COUNT;
    RETURN v_done;
END;
$$;
