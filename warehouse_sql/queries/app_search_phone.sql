-- Golden accounts and contacts by phone number (stored in E.164: digits after a +),
-- from any run of its digits.
(SELECT 'account' AS object, a.golden_id, a.name, a.phone AS detail, a.orgs, a.member_count
 FROM golden.account a WHERE a.phone LIKE :digits ORDER BY a.name LIMIT :limit)
UNION ALL
(SELECT 'contact', c.golden_id, c.name, concat_ws(' · ', c.phone, c.email), c.orgs,
        c.member_count
 FROM golden.contact c WHERE c.phone LIKE :digits ORDER BY c.name LIMIT :limit)
