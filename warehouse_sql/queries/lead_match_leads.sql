-- The live leads as lead matching reads them (`warehouse.lead_store`): all of them, or
-- those whose record ids are given. In (org, sfid) order: a lead cluster is named
-- after its first lead, whatever part of the leads is matched.
SELECT u.record_id, u.org, u.sfid, u.first_name, u.last_name, u.email, u.mobile_phone,
       u.phone, u.company, u.website
FROM golden_next.xref x
JOIN unified.lead u ON u.org = x.org AND u.sfid = x.sfid
WHERE x.object = 'lead'
  AND (CAST(%(ids)s AS bigint[]) IS NULL OR u.record_id = ANY(CAST(%(ids)s AS bigint[])))
ORDER BY u.org, u.sfid
