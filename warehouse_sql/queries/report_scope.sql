-- The golden accounts whose report rows an incremental build rewrites: those of every
-- changed opportunity and lead, as published and as built now (a deal moved from one
-- account to another changes both), and every changed account (merged, split, gone).
INSERT INTO golden_next.report_scope (golden_account_id)
SELECT o.golden_account_id FROM golden_next.changed c
JOIN golden_next.opportunity o ON o.golden_id = c.golden_id
WHERE c.object = 'opportunity'
UNION
SELECT o.golden_account_id FROM golden_next.changed c
JOIN golden.opportunity o ON o.golden_id = c.golden_id
WHERE c.object = 'opportunity'
UNION
SELECT l.golden_account_id FROM golden_next.changed c
JOIN golden_next.lead l ON l.golden_id = c.golden_id
WHERE c.object = 'lead' AND l.golden_account_id IS NOT NULL
UNION
SELECT l.golden_account_id FROM golden_next.changed c
JOIN golden.lead l ON l.golden_id = c.golden_id
WHERE c.object = 'lead' AND l.golden_account_id IS NOT NULL
UNION
SELECT golden_id FROM golden_next.changed WHERE object = 'account'
