-- Each golden account's opportunities summed up, in the reporting currency. "This
-- year" is the close date's year in UTC. An amount without a rate counts in no sum.
INSERT INTO golden_next.account_summary (golden_id, open_pipeline, weighted_pipeline,
    won_this_year, won_last_year, lost_this_year, open_opportunities, orgs,
    first_close_date, last_close_date, open_leads, reporting_currency)
SELECT o.golden_account_id,
       sum(o.amount_reporting) FILTER (WHERE NOT o.is_closed),
       sum(o.amount_reporting * o.probability / 100.0) FILTER (WHERE NOT o.is_closed),
       sum(o.amount_reporting) FILTER (WHERE o.is_won AND o.close_date >= y.this_year),
       sum(o.amount_reporting) FILTER (WHERE o.is_won AND o.close_date >= y.last_year
                                         AND o.close_date < y.this_year),
       sum(o.amount_reporting) FILTER (WHERE o.is_closed AND NOT o.is_won
                                         AND o.close_date >= y.this_year),
       count(*) FILTER (WHERE NOT o.is_closed),
       string_agg(DISTINCT o.org, ',' ORDER BY o.org),
       min(o.close_date),
       max(o.close_date),
       0,
       :reporting
FROM golden_next.opportunity o
CROSS JOIN (
    SELECT CAST(date_trunc('year', now() AT TIME ZONE 'UTC') AS date) AS this_year,
           CAST(date_trunc('year', now() AT TIME ZONE 'UTC') - interval '1 year' AS date)
               AS last_year
) y
WHERE o.golden_account_id IS NOT NULL
GROUP BY o.golden_account_id
