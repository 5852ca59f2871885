-- Steward actions, newest first, of one pair, one steward, or everyone; each with the
-- publication that applied it, if one has (a decision taken before a run began is in
-- what that run published).
SELECT l.id, l.object, l.org_a, l.sfid_a, l.org_b, l.sfid_b, l.action, l.decided_by,
       l.decided_at, l.note,
       (SELECT min(p.published_at) FROM org360.publication p
        WHERE p.run_started_at > l.decided_at) AS applied_at
FROM steward.decision_log l
WHERE (CAST(:obj AS text) IS NULL
       OR (l.object = :obj AND l.org_a = :org_a AND l.sfid_a = :sfid_a
           AND l.org_b = :org_b AND l.sfid_b = :sfid_b))
  AND (CAST(:by AS text) IS NULL OR l.decided_by = :by)
ORDER BY l.id DESC
LIMIT :limit
