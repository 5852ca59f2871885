-- The golden leads whose computed columns an incremental build may move besides those
-- of leads that changed (`warehouse.leads`): the leads whose match row the matching
-- changed (record ids given: a lead matched again to what it had keeps its values);
-- those whose golden contact or account this build rebuilt (a customer merged, split,
-- moved or left); and those converted into a contact or account that changed (one
-- that arrived after its lead, or moved).
SELECT x.golden_id
FROM unified.lead u
JOIN golden_next.xref x ON x.object = 'lead' AND x.org = u.org AND x.sfid = u.sfid
WHERE u.record_id = ANY(CAST(%(moved)s AS bigint[]))
UNION
SELECT g.golden_id
FROM golden_next.lead g
WHERE g.golden_contact_id IN (SELECT golden_id FROM golden_next.changed WHERE object = 'contact')
   OR g.golden_account_id IN (SELECT golden_id FROM golden_next.changed WHERE object = 'account')
UNION
SELECT x.golden_id
FROM resolve.changed c
JOIN unified.lead u ON u.org = c.org AND u.converted_contact_sfid = c.sfid
JOIN golden_next.xref x ON x.object = 'lead' AND x.org = u.org AND x.sfid = u.sfid
WHERE c.object = 'contact'
UNION
SELECT x.golden_id
FROM resolve.changed c
JOIN unified.lead u ON u.org = c.org AND u.converted_account_sfid = c.sfid
JOIN golden_next.xref x ON x.object = 'lead' AND x.org = u.org AND x.sfid = u.sfid
WHERE c.object = 'account'
