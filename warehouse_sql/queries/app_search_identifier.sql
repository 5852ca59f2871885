-- Golden accounts by registration number (company register, VAT, DUNS).
SELECT 'account' AS object, a.golden_id, a.name, a.registration_number AS detail, a.orgs,
       a.member_count
FROM golden.account a
WHERE a.registration_number = :value
ORDER BY a.name
LIMIT :limit
