-- The golden records of :object whose pairs an incremental build looks for again with
-- the object's review rule: those rebuilt since the last publication, and those of
-- records in any steward decision about the object (a pair decided since leaves the
-- queue; one taken back may come again). A pair's evidence is its two records' own
-- fields, so the pairs of every other record stand as they were found.
SELECT golden_id FROM golden_next.changed WHERE object = :object
UNION
SELECT x.golden_id FROM steward.decision_log d
JOIN golden_next.xref x ON x.object = d.object AND x.org = d.org_a AND x.sfid = d.sfid_a
WHERE d.object = :object
UNION
SELECT x.golden_id FROM steward.decision_log d
JOIN golden_next.xref x ON x.object = d.object AND x.org = d.org_b AND x.sfid = d.sfid_b
WHERE d.object = :object
