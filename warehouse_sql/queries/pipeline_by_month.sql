-- {opportunities}: golden_next's, or (an incremental build) those of the accounts in
-- golden_next.report_scope.
-- Opportunities by golden account, org, funnel stage and close month, in the reporting
-- currency (an opportunity whose account is unknown counts under no account).
INSERT INTO golden_next.pipeline_by_month (row_key, golden_account_id, org, funnel_stage,
    close_month, amount_reporting, opportunities, reporting_currency)
SELECT concat_ws('/', coalesce(o.golden_account_id, '-'), o.org, coalesce(o.funnel_stage, '-'),
                 coalesce(to_char(date_trunc('month', o.close_date), 'YYYY-MM'), '-')),
       o.golden_account_id, o.org, o.funnel_stage,
       CAST(date_trunc('month', o.close_date) AS date),
       sum(o.amount_reporting), count(*), :reporting
FROM {opportunities} o
GROUP BY o.golden_account_id, o.org, o.funnel_stage, date_trunc('month', o.close_date)
