-- Each record's strongest kept pair inside its cluster: why the record is where it is
-- (golden.xref.match_weight). Clustering writes it along with the cluster, from the
-- pairs it has at hand; the xref build then reads one column instead of joining every
-- pair to the clusters of both its records again (seconds at a million records).
-- NaN where the record has no kept pair inside its cluster (clustering writes floats
-- in bulk; the xref build reads NaN as null).
ALTER TABLE resolve.account_cluster ADD COLUMN match_weight double precision;
ALTER TABLE resolve.contact_cluster ADD COLUMN match_weight double precision;

-- Clusters resolved before this migration: their strongest pairs, once.
DO $$
DECLARE
    obj text;
BEGIN
    FOREACH obj IN ARRAY ARRAY['account', 'contact'] LOOP
        EXECUTE format(
            'UPDATE resolve.%1$I c SET match_weight = coalesce(s.match_weight, ''NaN'') '
            'FROM resolve.%1$I c0 LEFT JOIN ('
            ' SELECT record_id, max(match_weight) AS match_weight FROM ('
            '  SELECT p.left_id AS record_id, p.match_weight FROM resolve.%2$I p'
            '  JOIN resolve.%1$I a ON a.record_id = p.left_id'
            '  JOIN resolve.%1$I b ON b.record_id = p.right_id WHERE a.cluster_id = b.cluster_id'
            '  UNION ALL'
            '  SELECT p.right_id, p.match_weight FROM resolve.%2$I p'
            '  JOIN resolve.%1$I a ON a.record_id = p.left_id'
            '  JOIN resolve.%1$I b ON b.record_id = p.right_id WHERE a.cluster_id = b.cluster_id'
            ' ) ends GROUP BY record_id) s USING (record_id) '
            'WHERE c.record_id = c0.record_id',
            obj || '_cluster', obj || '_pair');
    END LOOP;
END
$$;
