-- A golden account's opportunities across orgs, open ones first.
SELECT org, sfid, name, stage, funnel_stage, is_closed, is_won, close_date, amount, currency,
       amount_reporting, reporting_currency, probability
FROM golden.opportunity
WHERE golden_account_id = :id
ORDER BY is_closed, close_date, name
LIMIT 200
