-- Contacts whose company, as lead matching reads it (their account's name), may have
-- changed: their account's record changed since the change given. Those whose company
-- did not change are told apart by their keys (`warehouse.lead_increments`).
SELECT c.record_id
FROM unified.account a
JOIN unified.contact c ON c.org = a.org AND c.account_sfid = a.sfid
WHERE a.change_seq > %(since)s
