-- A golden account's contacts.
SELECT golden_id, name, email, phone, title, orgs
FROM golden.contact
WHERE account_golden_id = :id
ORDER BY name, golden_id
LIMIT 100
