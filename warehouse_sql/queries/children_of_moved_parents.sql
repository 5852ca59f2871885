-- A child's golden record (a contact's) links to its parent's (the account's): it is
-- rebuilt when such a parent record got, lost or changed its golden id in this build
-- (run right after the parents' xref rows were rewritten).
INSERT INTO golden_next.changed (object, golden_id)
SELECT DISTINCT :child, cx.golden_id FROM (
  SELECT b.org, b.sfid FROM xref_before b
  LEFT JOIN golden_next.xref n ON n.object = :parent AND n.org = b.org AND n.sfid = b.sfid
  WHERE b.object = :parent AND n.golden_id IS DISTINCT FROM b.golden_id
  UNION
  SELECT n.org, n.sfid FROM scope_records s
  JOIN {parent_unified} u USING (record_id)
  JOIN golden_next.xref n ON n.object = :parent AND n.org = u.org AND n.sfid = u.sfid
  WHERE NOT EXISTS (
    SELECT 1 FROM xref_before b WHERE b.object = :parent AND b.org = n.org AND b.sfid = n.sfid
  )
) moved
JOIN {child_unified} c ON c.org = moved.org AND c.{parent_field} = moved.sfid
JOIN golden_next.xref cx ON cx.object = :child AND cx.org = c.org AND cx.sfid = c.sfid
ON CONFLICT DO NOTHING
