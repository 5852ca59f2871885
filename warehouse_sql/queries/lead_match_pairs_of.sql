-- The matching pairs of the leads whose record ids are given (`warehouse.lead_store`).
-- The weights as text: read back exactly as scored, so two equal weights stay equal.
SELECT lead_id, other, other_id, CAST(match_weight AS text) AS match_weight
FROM resolve.lead_match_pair
WHERE lead_id = ANY(CAST(%(ids)s AS bigint[]))
