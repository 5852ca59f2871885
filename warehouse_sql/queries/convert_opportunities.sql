-- The golden opportunities just built (all, or `{scope}`: the changed ones) get their
-- currency (the org's own where it has only one), the amount in the reporting currency
-- (org currency -> org corporate currency -> reporting currency, both rates from the
-- org and in force on the close date, from `opportunity_rate`; NULL without a rate)
-- and the org's stage on the shared funnel (NULL where the org's map does not name it).
UPDATE golden_next.opportunity o
SET currency = v.code,
    reporting_currency = :reporting,
    funnel_stage = v.funnel_stage,
    amount_reporting = CASE
        WHEN o.amount IS NULL THEN NULL
        WHEN v.code = :reporting THEN o.amount
        ELSE o.amount / v.rate * v.reporting_rate
    END
FROM (
    SELECT g.golden_id, coalesce(g.currency, oc.currency) AS code, st.funnel_stage,
           source.rate, target.rate AS reporting_rate
    FROM golden_next.opportunity g
    LEFT JOIN org_currency oc ON oc.org = g.org
    LEFT JOIN org_stage st ON st.org = g.org AND st.stage = g.stage
    LEFT JOIN opportunity_rate source ON source.org = g.org
        AND source.code = coalesce(g.currency, oc.currency)
        AND source.day = coalesce(g.close_date, CURRENT_DATE)
    LEFT JOIN opportunity_rate target ON target.org = g.org AND target.code = :reporting
        AND target.day = coalesce(g.close_date, CURRENT_DATE)
    WHERE true {scope}
) v
WHERE v.golden_id = o.golden_id
