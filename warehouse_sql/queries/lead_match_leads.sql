-- The live leads as lead matching reads them (`warehouse.lead_store`): all of them, or
-- those whose record ids are given (unified's records are the live ones, as for
-- contacts). In (org, sfid) order: a lead cluster is named after its first lead,
-- whatever part of the leads is matched.
SELECT u.record_id, u.org, u.sfid, u.first_name, u.last_name, u.email, u.mobile_phone,
       u.phone, u.company, u.website
FROM unified.lead u
WHERE CAST(%(ids)s AS bigint[]) IS NULL OR u.record_id = ANY(CAST(%(ids)s AS bigint[]))
ORDER BY u.org, u.sfid
