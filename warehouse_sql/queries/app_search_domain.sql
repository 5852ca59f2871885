-- Golden accounts by web domain, and the contacts whose e-mail is at it.
(SELECT 'account' AS object, a.golden_id, a.name, a.website AS detail, a.orgs, a.member_count
 FROM golden.account a WHERE a.domain = :domain ORDER BY a.name LIMIT :limit)
UNION ALL
(SELECT 'contact', c.golden_id, c.name, c.email, c.orgs, c.member_count
 FROM golden.contact c
 WHERE c.email ILIKE :mailbox
 ORDER BY c.name LIMIT :limit)
