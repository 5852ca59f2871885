-- Open leads of the demo against its truth (`demo.seed.evaluate_leads`): those whose
-- person (or company) is a published customer, those linked to one ({link}), and
-- those linked to the right one (a member of the linked golden record is that entity).
WITH lead AS (
    SELECT g.{link} AS linked, t.entity
    FROM golden.lead g
    LEFT JOIN demo.truth t ON t.object = :truth_object AND t.org = g.org AND t.sfid = g.sfid
    WHERE NOT COALESCE(g.is_converted, false)
)
SELECT
    count(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM demo.truth c
        JOIN golden.xref x ON x.object = c.object AND x.org = c.org AND x.sfid = c.sfid
        WHERE c.object = :target AND c.entity = lead.entity)),
    count(linked),
    count(*) FILTER (WHERE EXISTS (
        SELECT 1 FROM golden.xref x
        JOIN demo.truth c ON c.object = x.object AND c.org = x.org AND c.sfid = x.sfid
        WHERE x.object = :target AND x.golden_id = lead.linked AND c.entity = lead.entity))
FROM lead
