-- Released: prepared again and accepted, deleted from staging since :since, or no
-- longer rejected by staging.
DELETE FROM unified.rejected r
WHERE r.object = :obj
  AND (
    EXISTS (SELECT 1 FROM incoming i WHERE i.org = r.org AND i.sfid = r.sfid)
    OR EXISTS (
        SELECT 1 FROM staging.deletion d
        WHERE d.object = :obj AND d.change_seq > :since AND d.org = r.org AND d.sfid = r.sfid
    )
    OR (
        r.found_by = 'staging'
        AND NOT EXISTS (
            SELECT 1 FROM staging.rejected s
            WHERE s.object = :obj AND s.org = r.org AND s.sfid = r.sfid
        )
    )
  )
