-- Open leads of the demo against its truth (`demo.seed.evaluate_leads`): those whose
-- person (or company) is a published customer, those linked to one ({link}), and
-- those linked to the right one (a member of the linked golden record is that entity).
WITH lead AS (
    SELECT g.{link} AS linked, t.entity
    FROM golden.lead g
    LEFT JOIN demo.truth t ON t.object = :truth_object AND t.org = g.org AND t.sfid = g.sfid
    WHERE NOT COALESCE(g.is_converted, false)
),
customer AS (
    -- Each published customer entity, and the golden records it is in.
    SELECT DISTINCT c.entity, x.golden_id
    FROM demo.truth c
    JOIN golden.xref x ON x.object = c.object AND x.org = c.org AND x.sfid = c.sfid
    WHERE c.object = :target
)
SELECT count(*) FILTER (WHERE known.entity IS NOT NULL),
       count(lead.linked),
       count(*) FILTER (WHERE right_one.entity IS NOT NULL)
FROM lead
LEFT JOIN (SELECT DISTINCT entity FROM customer) known ON known.entity = lead.entity
LEFT JOIN customer right_one
    ON right_one.entity = lead.entity AND right_one.golden_id = lead.linked
