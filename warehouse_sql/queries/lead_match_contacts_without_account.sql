-- Contacts whose account is not among the unified accounts (deleted, quarantined or
-- never synced): lead matching reads no company for them.
SELECT c.record_id
FROM unified.contact c
WHERE c.account_sfid IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM unified.account a WHERE a.org = c.org AND a.sfid = c.account_sfid
  )
