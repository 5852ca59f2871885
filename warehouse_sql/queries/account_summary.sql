-- {opportunities} and {leads}: golden_next's, or (an incremental build) those of the
-- accounts in golden_next.report_scope.
-- Each golden account's opportunities and open leads summed up, amounts in the
-- reporting currency. "This year" is the close date's year in UTC. An amount without
-- a rate counts in no sum. `orgs`: those where the account has either.
INSERT INTO golden_next.account_summary (golden_id, open_pipeline, weighted_pipeline,
    won_this_year, won_last_year, lost_this_year, open_opportunities, orgs,
    first_close_date, last_close_date, open_leads, reporting_currency)
WITH deals AS (
    SELECT o.golden_account_id AS golden_id,
           sum(o.amount_reporting) FILTER (WHERE NOT o.is_closed) AS open_pipeline,
           sum(o.amount_reporting * o.probability / 100.0) FILTER (WHERE NOT o.is_closed)
               AS weighted_pipeline,
           sum(o.amount_reporting) FILTER (WHERE o.is_won AND o.close_date >= y.this_year)
               AS won_this_year,
           sum(o.amount_reporting) FILTER (WHERE o.is_won AND o.close_date >= y.last_year
                                             AND o.close_date < y.this_year) AS won_last_year,
           sum(o.amount_reporting) FILTER (WHERE o.is_closed AND NOT o.is_won
                                             AND o.close_date >= y.this_year) AS lost_this_year,
           count(*) FILTER (WHERE NOT o.is_closed) AS open_opportunities,
           min(o.close_date) AS first_close_date,
           max(o.close_date) AS last_close_date
    FROM {opportunities} o
    CROSS JOIN (
        SELECT CAST(date_trunc('year', now() AT TIME ZONE 'UTC') AS date) AS this_year,
               CAST(date_trunc('year', now() AT TIME ZONE 'UTC') - interval '1 year' AS date)
                   AS last_year
    ) y
    WHERE o.golden_account_id IS NOT NULL
    GROUP BY o.golden_account_id
),
open_leads AS (
    SELECT golden_account_id AS golden_id, count(*) AS open_leads
    FROM {leads}
    WHERE golden_account_id IS NOT NULL AND NOT COALESCE(is_converted, false)
    GROUP BY golden_account_id
),
activity AS (
    SELECT golden_id, string_agg(org, ',' ORDER BY org) AS orgs FROM (
        SELECT golden_account_id AS golden_id, org FROM {opportunities}
        WHERE golden_account_id IS NOT NULL
        UNION
        SELECT golden_account_id, org FROM {leads}
        WHERE golden_account_id IS NOT NULL AND NOT COALESCE(is_converted, false)
    ) a
    GROUP BY golden_id
)
SELECT a.golden_id, d.open_pipeline, d.weighted_pipeline, d.won_this_year, d.won_last_year,
       d.lost_this_year, COALESCE(d.open_opportunities, 0), a.orgs, d.first_close_date,
       d.last_close_date, COALESCE(l.open_leads, 0), :reporting
FROM activity a
LEFT JOIN deals d USING (golden_id)
LEFT JOIN open_leads l USING (golden_id)
