-- Golden contacts by e-mail address (or its beginning), case aside.
SELECT 'contact' AS object, c.golden_id, c.name, concat_ws(' · ', c.email, ga.name) AS detail,
       c.orgs, c.member_count
FROM golden.contact c
LEFT JOIN golden.account ga ON ga.golden_id = c.account_golden_id
WHERE c.email ILIKE :pattern
ORDER BY c.email, c.golden_id
LIMIT :limit
