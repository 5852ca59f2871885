-- Golden accounts and contacts whose names hold, for each word searched, a word that
-- starts with it: the vocabulary (trigram-indexed) gives the words, their postings the
-- records, without reading the golden tables until the page's rows are known.
WITH found AS (
    SELECT p.source, p.golden_id
    FROM unnest(CAST(:patterns AS text[])) AS t(pattern)
    JOIN golden.search_word w
        ON w.source IN ('account.name', 'contact.name') AND w.word LIKE t.pattern
    JOIN golden.search_posting p ON p.source = w.source AND p.word = w.word
    GROUP BY p.source, p.golden_id
    HAVING count(DISTINCT t.pattern) = :words
    LIMIT 1000
)
(SELECT 'account' AS object, a.golden_id, a.name,
        concat_ws(', ', a.billing_city, a.billing_country) AS detail, a.orgs, a.member_count
 FROM found f JOIN golden.account a ON a.golden_id = f.golden_id
 WHERE f.source = 'account.name'
 ORDER BY a.name LIMIT :limit)
UNION ALL
(SELECT 'contact', c.golden_id, c.name, concat_ws(' · ', c.email, ga.name), c.orgs,
        c.member_count
 FROM found f JOIN golden.contact c ON c.golden_id = f.golden_id
 LEFT JOIN golden.account ga ON ga.golden_id = c.account_golden_id
 WHERE f.source = 'contact.name'
 ORDER BY c.name LIMIT :limit)
