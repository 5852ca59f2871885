-- Duplicates found, per object and org pair: pairs of source records that one golden
-- record holds (a golden record of n members in one org holds n(n-1)/2 pairs there).
WITH per_org AS (
    SELECT object, golden_id, org, count(*) AS n
    FROM golden.xref
    GROUP BY object, golden_id, org
)
SELECT x.object, x.org AS org_a, y.org AS org_b,
       sum(CASE WHEN x.org = y.org THEN x.n * (x.n - 1) / 2 ELSE x.n * y.n END) AS pairs
FROM per_org x
JOIN per_org y ON y.object = x.object AND y.golden_id = x.golden_id AND y.org >= x.org
WHERE x.n > 1 OR x.org <> y.org
GROUP BY x.object, x.org, y.org
ORDER BY x.object, x.org, y.org
