-- The live accounts as lead matching reads them (`warehouse.lead_store`): all of them,
-- or those whose record ids are given.
SELECT a.record_id, a.org, a.sfid, a.name AS company, a.domain, a.phone
FROM golden_next.xref x
JOIN unified.account a ON a.org = x.org AND a.sfid = x.sfid
WHERE x.object = 'account'
  AND (CAST(%(ids)s AS bigint[]) IS NULL OR a.record_id = ANY(CAST(%(ids)s AS bigint[])))
