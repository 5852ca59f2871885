-- The live accounts as lead matching reads them (`warehouse.lead_store`): all of them,
-- or those whose record ids are given (unified's records are the live ones, as for
-- contacts).
SELECT a.record_id, a.org, a.sfid, a.name AS company, a.domain, a.phone
FROM unified.account a
WHERE CAST(%(ids)s AS bigint[]) IS NULL OR a.record_id = ANY(CAST(%(ids)s AS bigint[]))
