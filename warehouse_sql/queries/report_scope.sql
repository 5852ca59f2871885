-- The golden accounts whose report rows an incremental build rewrites: those of every
-- changed opportunity and lead whose reported columns differ from the published ones,
-- as published and as built now (a deal moved from one account to another changes
-- both), and every changed account that is gone (merged or split away). A lead
-- matched again to the same account, an opportunity renamed, an account whose name
-- changed: their accounts' report rows stand. The scope gathers until a publication
-- empties it, so a change taken back before then still rewrites the rows the first
-- build wrote.
INSERT INTO golden_next.report_scope (golden_account_id)
WITH opportunities AS (
    -- An opportunity of no known account has its rows too (under a null account).
    SELECT n.golden_id IS NOT NULL AS built, n.golden_account_id AS now,
           g.golden_id IS NOT NULL AS was, g.golden_account_id AS published
    FROM golden_next.changed c
    LEFT JOIN golden_next.opportunity n ON n.golden_id = c.golden_id
    LEFT JOIN golden.opportunity g ON g.golden_id = c.golden_id
    WHERE c.object = 'opportunity'
      AND (n.golden_account_id, n.org, n.funnel_stage, n.close_date, n.amount_reporting,
           n.is_closed, n.is_won, n.probability)
          IS DISTINCT FROM
          (g.golden_account_id, g.org, g.funnel_stage, g.close_date, g.amount_reporting,
           g.is_closed, g.is_won, g.probability)
), leads AS (
    SELECT n.golden_account_id AS now, g.golden_account_id AS published
    FROM golden_next.changed c
    LEFT JOIN golden_next.lead n ON n.golden_id = c.golden_id
    LEFT JOIN golden.lead g ON g.golden_id = c.golden_id
    WHERE c.object = 'lead'
      AND (n.golden_account_id, n.org, n.is_converted)
          IS DISTINCT FROM (g.golden_account_id, g.org, g.is_converted)
)
SELECT now FROM opportunities WHERE built
UNION SELECT published FROM opportunities WHERE was
UNION SELECT now FROM leads WHERE now IS NOT NULL
UNION SELECT published FROM leads WHERE published IS NOT NULL
UNION
SELECT c.golden_id FROM golden_next.changed c
WHERE c.object = 'account'
  AND NOT EXISTS (SELECT 1 FROM golden_next.account a WHERE a.golden_id = c.golden_id)
