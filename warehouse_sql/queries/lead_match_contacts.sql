-- The live contacts as lead matching reads them (`warehouse.lead_store`), their
-- account's name as their company: all of them, or those whose record ids are given.
SELECT c.record_id, c.org, c.sfid, c.first_name, c.last_name, c.email, c.mobile_phone,
       c.phone, a.name AS company
FROM golden_next.xref x
JOIN unified.contact c ON c.org = x.org AND c.sfid = x.sfid
LEFT JOIN unified.account a ON a.org = c.org AND a.sfid = c.account_sfid
WHERE x.object = 'contact'
  AND (CAST(%(ids)s AS bigint[]) IS NULL OR c.record_id = ANY(CAST(%(ids)s AS bigint[])))
