-- The latest publications, with the steward decisions taken since the one before.
SELECT p.id, p.published_at, p.incremental,
       (SELECT count(*) FROM steward.decision_log l
        WHERE l.action IN ('match', 'no_match', 'undo')
          AND l.decided_at < p.run_started_at
          AND l.decided_at >= COALESCE(
              (SELECT max(q.run_started_at) FROM org360.publication q WHERE q.id < p.id),
              '-infinity')) AS decisions
FROM org360.publication p
ORDER BY p.id DESC
LIMIT :limit
