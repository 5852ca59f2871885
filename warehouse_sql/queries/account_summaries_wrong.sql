-- Account summaries of no golden account, or whose figures differ from a plain count
-- and sum of the golden opportunities and leads: every summary, or (:everything false,
-- an incremental build) those of the accounts it rewrote (golden_next.report_scope),
-- the others having passed when they were built. (The accounts as an array, not IN:
-- with :everything false the planner then looks them up.)
SELECT s.golden_id FROM golden_next.account_summary s
LEFT JOIN golden_next.account a ON a.golden_id = s.golden_id
LEFT JOIN (
    SELECT golden_account_id, count(*) FILTER (WHERE NOT is_closed) AS open,
           sum(amount_reporting) FILTER (WHERE NOT is_closed) AS pipeline
    FROM golden_next.opportunity
    WHERE :everything
       OR golden_account_id = ANY (ARRAY(SELECT golden_account_id FROM golden_next.report_scope))
    GROUP BY golden_account_id
) o ON o.golden_account_id = s.golden_id
LEFT JOIN (
    SELECT golden_account_id, count(*) AS open
    FROM golden_next.lead
    WHERE NOT COALESCE(is_converted, false)
      AND (:everything
           OR golden_account_id = ANY (ARRAY(SELECT golden_account_id FROM golden_next.report_scope)))
    GROUP BY golden_account_id
) l ON l.golden_account_id = s.golden_id
WHERE (:everything
       OR s.golden_id = ANY (ARRAY(SELECT golden_account_id FROM golden_next.report_scope)))
  AND (a.golden_id IS NULL
       OR COALESCE(o.open, 0) <> s.open_opportunities
       OR COALESCE(l.open, 0) <> s.open_leads
       OR abs(COALESCE(o.pipeline, 0) - COALESCE(s.open_pipeline, 0)) > 0.005)
