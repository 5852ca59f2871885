-- Pairs waiting for a steward: in the review queue, with no decision standing, in the
-- object, org pair and probability band chosen; likeliest first, with how many there
-- are in all (counted before the page is cut).
SELECT count(*) OVER () AS total, r.review_id, r.object, r.org_a, r.sfid_a, r.golden_id_a, r.label_a, r.org_b, r.sfid_b,
       r.golden_id_b, r.label_b, r.probability, r.match_weight, r.field_weights
FROM golden.duplicate_review r
WHERE (CAST(:obj AS text) IS NULL OR r.object = :obj)
  AND (CAST(:org_x AS text) IS NULL
       OR (least(r.org_a, r.org_b) = :org_x AND greatest(r.org_a, r.org_b) = :org_y))
  AND r.probability >= :low AND r.probability < :high
  AND NOT EXISTS (
      SELECT 1 FROM steward.decision d
      WHERE d.object = r.object
        AND (d.org_a, d.sfid_a, d.org_b, d.sfid_b) IN ((r.org_a, r.sfid_a, r.org_b, r.sfid_b),
                                                       (r.org_b, r.sfid_b, r.org_a, r.sfid_a)))
ORDER BY r.probability DESC, r.review_id
OFFSET :offset LIMIT :limit
