-- The same deal entered in two orgs: opportunities of one golden account in two orgs,
-- with names alike, close dates near and amounts close in the reporting currency. They
-- go to the stewards, never merged. Each piece of evidence weighs in bits, as the
-- matcher's comparisons do, so a steward sees why:
--   name        6 x trigram similarity - 2   (+4 the same, +1 half alike)
--   close_date  3 - 4 x days apart / 31      (+3 the same day, -1 a month apart)
--   amount      3 - 30 x relative difference (+3 the same, 0 a tenth apart; 0 if unknown)
-- and a pair is put forward from :review_weight bits, after a prior of -2 bits.
-- With :everything false (an incremental build) only the pairs of an opportunity in
-- `review_rule_scope` (a temp table of golden ids, warehouse.review_queue) are looked
-- for: among the opportunities of those opportunities' accounts.
WITH scope_accounts AS (
    SELECT DISTINCT o.golden_account_id FROM review_rule_scope s
    JOIN golden_next.opportunity o ON o.golden_id = s.golden_id
), candidates AS MATERIALIZED (
    -- Read once for both sides of the pairs (the golden opportunities are wide).
    SELECT o.golden_id, o.golden_account_id, o.org, o.sfid, o.name, o.close_date,
           o.amount_reporting
    FROM golden_next.opportunity o
    WHERE o.golden_account_id IS NOT NULL
      -- (An array, not IN: with :everything false the planner then looks them up.)
      AND (:everything
           OR o.golden_account_id = ANY (ARRAY(SELECT golden_account_id FROM scope_accounts)))
), pairs AS (
    SELECT a.org AS org_a, a.sfid AS sfid_a, a.golden_id AS golden_id_a, a.name AS label_a,
           b.org AS org_b, b.sfid AS sfid_b, b.golden_id AS golden_id_b, b.name AS label_b,
           6 * similarity(lower(a.name), lower(b.name)) - 2 AS name,
           3 - 4 * abs(b.close_date - a.close_date) / 31.0 AS close_date,
           CASE WHEN a.amount_reporting IS NULL OR b.amount_reporting IS NULL THEN 0
                ELSE 3 - 30 * abs(a.amount_reporting - b.amount_reporting)
                     / greatest(abs(a.amount_reporting), abs(b.amount_reporting), 1) END
               AS amount
    FROM candidates a
    JOIN candidates b ON b.golden_account_id = a.golden_account_id AND b.org > a.org
    WHERE abs(b.close_date - a.close_date) <= 31
      AND (:everything
           OR a.golden_id IN (SELECT golden_id FROM review_rule_scope)
           OR b.golden_id IN (SELECT golden_id FROM review_rule_scope))
      AND similarity(lower(a.name), lower(b.name)) >= 0.4
      AND NOT EXISTS (
          SELECT 1 FROM steward.decision d
          WHERE d.object = 'opportunity'
            AND ((d.org_a, d.sfid_a, d.org_b, d.sfid_b) = (a.org, a.sfid, b.org, b.sfid)
              OR (d.org_a, d.sfid_a, d.org_b, d.sfid_b) = (b.org, b.sfid, a.org, a.sfid)))
), scored AS (
    SELECT *, name + close_date + amount - 2 AS match_weight FROM pairs
)
INSERT INTO golden_next.duplicate_review (review_id, object, org_a, sfid_a, golden_id_a,
    label_a, org_b, sfid_b, golden_id_b, label_b, probability, match_weight, field_weights)
SELECT md5('opportunity|' || org_a || '|' || sfid_a || '|' || org_b || '|' || sfid_b),
       'opportunity', org_a, sfid_a, golden_id_a, left(label_a, 255),
       org_b, sfid_b, golden_id_b, left(label_b, 255),
       1 / (1 + power(2, -match_weight)), match_weight,
       jsonb_build_object('name', round(CAST(name AS numeric), 2),
                          'close_date', round(CAST(close_date AS numeric), 2),
                          'amount', round(CAST(amount AS numeric), 2))
FROM scored
WHERE match_weight >= :review_weight
