-- The pairs under review that hold a member of this golden record.
SELECT review_id, object, org_a, sfid_a, label_a, golden_id_a, org_b, sfid_b, label_b,
       golden_id_b, probability
FROM golden.duplicate_review
WHERE golden_id_a = :id OR golden_id_b = :id
ORDER BY probability DESC
LIMIT 50
