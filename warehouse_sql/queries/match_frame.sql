-- One object's records as the matcher reads them: each record's match inputs, the
-- cluster of each record it points to (a contact's account), and the golden id it was
-- published under last time. The columns and the parents' joins are composed from the
-- catalogue and the matcher's declared inputs, their identifiers quoted.
SELECT r.record_id, r.org, r.sfid{columns}, x.golden_id AS previous
FROM {unified} r
LEFT JOIN golden.xref x ON x.object = %(object)s AND x.org = r.org AND x.sfid = r.sfid
{parents}
{where}
ORDER BY r.record_id
