-- The rates the golden opportunities just built (all, or `{scope}`: the changed ones)
-- need: each org's rate of each currency its opportunities are in, and of the
-- reporting currency, on each close date they have. Looked up once per (org,
-- currency, day): there are thousands of those against millions of opportunities.
CREATE TEMP TABLE opportunity_rate ON COMMIT DROP AS
WITH days AS (
    SELECT DISTINCT g.org, coalesce(g.currency, oc.currency) AS code,
           coalesce(g.close_date, CURRENT_DATE) AS day
    FROM golden_next.opportunity g
    LEFT JOIN org_currency oc ON oc.org = g.org
    WHERE g.amount IS NOT NULL {scope}
), needed AS (
    SELECT org, code, day FROM days WHERE code IS NOT NULL
    UNION
    SELECT org, CAST(:reporting AS char(3)), day FROM days
)
SELECT org, code, day, org360.rate_on(org, code, day) AS rate FROM needed
