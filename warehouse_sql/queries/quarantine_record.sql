-- This batch's rejections (first_seen kept for records rejected before).
INSERT INTO unified.rejected (object, org, sfid, reason, detail, found_by)
SELECT :obj, org, sfid, reason, detail, 'unified' FROM incoming_rejected
ON CONFLICT (object, org, sfid) DO UPDATE
SET reason = excluded.reason, detail = excluded.detail, found_by = excluded.found_by
