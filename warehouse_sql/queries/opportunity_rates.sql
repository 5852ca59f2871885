-- The rates the golden opportunities about to be built (all, or `{scope}`: the changed
-- ones) need: each org's rate of each currency its opportunities are in, and of the
-- reporting currency, on each close date they have. Looked up once per (org,
-- currency, day): there are thousands of those against millions of opportunities.
CREATE TEMP TABLE opportunity_rate ON COMMIT DROP AS
WITH days AS (
    SELECT DISTINCT u.org, coalesce(u.currency, oc.currency) AS code,
           coalesce(u.close_date, CURRENT_DATE) AS day
    FROM golden_next.xref x
    JOIN unified.opportunity u ON u.org = x.org AND u.sfid = x.sfid
    LEFT JOIN org_currency oc ON oc.org = u.org
    WHERE x.object = 'opportunity' AND u.amount IS NOT NULL {scope}
), needed AS (
    SELECT org, code, day FROM days WHERE code IS NOT NULL
    UNION
    SELECT org, CAST(:reporting AS char(3)), day FROM days
)
SELECT org, code, day, org360.rate_on(org, code, day) AS rate FROM needed
