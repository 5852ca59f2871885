-- The live contacts as lead matching reads them (`warehouse.lead_store`), their
-- account's name as their company: all of them, or those whose record ids are given.
-- Unified's records are the live ones: each is in golden_next.xref (the xref's blocking
-- check holds before lead matching runs), so no join to it is needed.
SELECT c.record_id, c.org, c.sfid, c.first_name, c.last_name, c.email, c.mobile_phone,
       c.phone, a.name AS company
FROM unified.contact c
LEFT JOIN unified.account a ON a.org = c.org AND a.sfid = c.account_sfid
WHERE CAST(%(ids)s AS bigint[]) IS NULL OR c.record_id = ANY(CAST(%(ids)s AS bigint[]))
