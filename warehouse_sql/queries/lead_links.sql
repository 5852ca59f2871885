-- The golden leads just built get what their matching found (resolve.lead_match):
-- the golden id of their cluster's lead, the golden contact they are (the one they
-- were converted to, else the one they matched) and the golden account (the one they
-- were converted to, else their golden contact's, else the one they matched). Only
-- rows whose values change are written; their ids are returned to be republished.
WITH found AS (
    SELECT g.golden_id,
           xl.golden_id AS lead_cluster_id,
           COALESCE(g.converted_contact_golden_id, xc.golden_id) AS golden_contact_id,
           COALESCE(g.converted_account_golden_id, gc.{contact_account}, xa.golden_id)
               AS golden_account_id,
           CASE WHEN g.converted_contact_golden_id IS NULL
                THEN COALESCE(m.contact_weight, m.account_weight) END AS match_weight
    FROM golden_next.lead g
    LEFT JOIN resolve.lead_match m ON m.org = g.org AND m.sfid = g.sfid
    LEFT JOIN golden_next.xref xl
        ON xl.object = 'lead' AND xl.org = m.cluster_org AND xl.sfid = m.cluster_sfid
    LEFT JOIN golden_next.xref xc
        ON xc.object = 'contact' AND xc.org = m.contact_org AND xc.sfid = m.contact_sfid
    LEFT JOIN golden_next.contact gc
        ON gc.golden_id = COALESCE(g.converted_contact_golden_id, xc.golden_id)
    LEFT JOIN golden_next.xref xa
        ON xa.object = 'account' AND xa.org = m.account_org AND xa.sfid = m.account_sfid
)
UPDATE golden_next.lead g
SET lead_cluster_id = COALESCE(f.lead_cluster_id, g.golden_id),
    golden_contact_id = f.golden_contact_id,
    golden_account_id = f.golden_account_id,
    match_weight = f.match_weight
FROM found f
WHERE f.golden_id = g.golden_id
  AND (g.lead_cluster_id IS DISTINCT FROM COALESCE(f.lead_cluster_id, g.golden_id)
       OR g.golden_contact_id IS DISTINCT FROM f.golden_contact_id
       OR g.golden_account_id IS DISTINCT FROM f.golden_account_id
       OR g.match_weight IS DISTINCT FROM f.match_weight)
RETURNING g.golden_id
