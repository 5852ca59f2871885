-- Records rejected in this batch leave the unified records, as deletions that
-- resolution follows ({unified}: the object's unified table).
WITH gone AS (
    DELETE FROM {unified} u
    USING incoming_rejected r
    WHERE u.org = r.org AND u.sfid = r.sfid
    RETURNING u.record_id, u.org, u.sfid
)
INSERT INTO unified.deletion (object, record_id, org, sfid)
SELECT :obj, record_id, org, sfid FROM gone
