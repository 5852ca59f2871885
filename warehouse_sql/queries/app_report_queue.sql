-- The review queue per object and org pair: pairs waiting, and pairs decided.
SELECT r.object, least(r.org_a, r.org_b) AS org_a, greatest(r.org_a, r.org_b) AS org_b,
       count(*) FILTER (WHERE d.object IS NULL) AS waiting,
       count(*) FILTER (WHERE d.object IS NOT NULL) AS decided
FROM golden.duplicate_review r
LEFT JOIN steward.decision d
    ON d.object = r.object AND d.org_a = least(r.org_a, r.org_b)
   AND (d.org_a, d.sfid_a, d.org_b, d.sfid_b) IN ((r.org_a, r.sfid_a, r.org_b, r.sfid_b),
                                                  (r.org_b, r.sfid_b, r.org_a, r.sfid_a))
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
