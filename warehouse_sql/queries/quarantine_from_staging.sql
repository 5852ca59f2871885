-- Staging's rejections as staging holds them now (read under the unified stage's
-- lock, so they agree with the staged records it normalised).
INSERT INTO unified.rejected
    (object, org, sfid, reason, detail, first_seen, last_seen, found_by)
SELECT object, org, sfid, reason, detail, first_seen, last_seen, 'staging'
FROM staging.rejected
WHERE object = :obj
ON CONFLICT (object, org, sfid) DO UPDATE
SET reason = excluded.reason, detail = excluded.detail, found_by = excluded.found_by,
    last_seen = excluded.last_seen
