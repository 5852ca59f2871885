-- The next publication's tables are rebuilt from resolve and unified whenever they
-- are lost, so they need not be written to the WAL: a million golden records and
-- their xref rows are written once there and once more into `golden` at publication.
-- A crash (or a failover to a standby) leaves unlogged tables empty, and an empty
-- `golden_next.xref` makes the next run build everything again (warehouse.golden's
-- `build_xref`); golden ids survive it, kept from `golden.xref`, and a publication
-- refuses to publish the empty tables meanwhile (warehouse.publish). What is pending
-- publication (`changed`, `report_scope`) stays logged.
DO $$
DECLARE
    next_table record;
BEGIN
    FOR next_table IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'golden_next' AND c.relkind = 'r' AND c.relpersistence = 'p'
          AND c.relname NOT IN ('changed', 'report_scope')
    LOOP
        EXECUTE format('ALTER TABLE golden_next.%I SET UNLOGGED', next_table.relname);
    END LOOP;
END
$$;
