-- The record ids of one object's live records, as lead matching counts them
-- ({unified}: the object's unified table).
SELECT u.record_id
FROM golden_next.xref x
JOIN {unified} u ON u.org = x.org AND u.sfid = x.sfid
WHERE x.object = %(object)s
