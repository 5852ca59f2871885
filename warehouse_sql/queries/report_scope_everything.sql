-- Every golden account with report rows, published or built, and the opportunities of
-- no known account: what a publication compares after the reports were rebuilt whole
-- (a new year moves every "this year" figure) in a run that is otherwise incremental.
INSERT INTO golden_next.report_scope (golden_account_id)
SELECT golden_id FROM golden.account_summary
UNION SELECT golden_id FROM golden_next.account_summary
UNION SELECT golden_account_id FROM golden.pipeline_by_month
UNION SELECT golden_account_id FROM golden_next.pipeline_by_month
UNION SELECT NULL
