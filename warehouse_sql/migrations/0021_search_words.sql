-- A word index for searches over golden names (see odata_service/word_search.py).
--
-- `contains(Name,'acme') eq true` through the trigram index finds every row whose
-- name holds the term and rechecks each one in the table: a common word in a million
-- company names is thousands of scattered rows, read and sorted to return 25. Names
-- are made of few distinct words, so the term is looked up in the vocabulary of
-- words (small, trigram-indexed), and the rows come from the postings of the words
-- found, already in key order, without touching the table.
--
-- Exact, not approximate: a term without blanks lies inside one blank-separated word,
-- so `name ILIKE '%term%'` holds exactly when one of the name's words does. Words
-- shorter than 3 characters are left out: only terms of 3 or more use the index, and
-- no such term fits inside a shorter word.

CREATE TABLE golden.search_word (
    source  text NOT NULL,            -- table.column, e.g. 'account.name'
    word    text NOT NULL,            -- lower case
    PRIMARY KEY (source, word)
);
CREATE INDEX golden_search_word_trgm ON golden.search_word USING gin (word gin_trgm_ops);

CREATE TABLE golden.search_posting (
    source      text NOT NULL,
    word        text NOT NULL,
    golden_id   varchar(18) NOT NULL,
    PRIMARY KEY (source, word, golden_id)
);

-- The words of each indexed column of a set of rows, as (source, word, golden_id).
-- `rows_sql` names the rows (a transition table or the table itself).
CREATE FUNCTION golden.search_words_sql(tbl text, columns text[], rows_sql text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format(
        'SELECT DISTINCT v.source, w.word, r.golden_id FROM %s r'
        ' CROSS JOIN LATERAL (VALUES %s) AS v(source, value)'
        ' CROSS JOIN LATERAL regexp_split_to_table(lower(v.value), ''\s+'') AS w(word)'
        ' WHERE length(w.word) >= 3',
        rows_sql,
        (SELECT string_agg(format('(%L, r.%I::text)', tbl || '.' || c, c), ', ')
         FROM unnest(columns) AS c))
$$;

-- Statement-level, over transition tables: a publication of a million rows indexes
-- them in one set-based statement, not a million trigger calls. An UPDATE only
-- touches words that changed. Arguments: the table's short name, then its columns.
CREATE FUNCTION golden.maintain_search_words() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    columns text[] := TG_ARGV[1:];
    removed text;
    added text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM golden.search_posting WHERE source LIKE TG_ARGV[0] || '.%';
        DELETE FROM golden.search_word WHERE source LIKE TG_ARGV[0] || '.%';
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        added := golden.search_words_sql(TG_ARGV[0], columns, 'new_rows');
    ELSIF TG_OP = 'DELETE' THEN
        removed := golden.search_words_sql(TG_ARGV[0], columns, 'old_rows');
    ELSE
        removed := golden.search_words_sql(TG_ARGV[0], columns, 'old_rows') || ' EXCEPT '
                || golden.search_words_sql(TG_ARGV[0], columns, 'new_rows');
        added := golden.search_words_sql(TG_ARGV[0], columns, 'new_rows') || ' EXCEPT '
                || golden.search_words_sql(TG_ARGV[0], columns, 'old_rows');
    END IF;
    IF removed IS NOT NULL THEN
        EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS search_words_removed'
             || ' (source text, word text, golden_id varchar(18)) ON COMMIT DROP';
        EXECUTE 'INSERT INTO search_words_removed ' || removed;
        DELETE FROM golden.search_posting p USING search_words_removed r
        WHERE p.source = r.source AND p.word = r.word AND p.golden_id = r.golden_id;
        -- A word nobody uses any more leaves the vocabulary.
        DELETE FROM golden.search_word w
        USING (SELECT DISTINCT source, word FROM search_words_removed) r
        WHERE w.source = r.source AND w.word = r.word
          AND NOT EXISTS (SELECT 1 FROM golden.search_posting p
                          WHERE p.source = r.source AND p.word = r.word);
        TRUNCATE search_words_removed;
    END IF;
    IF added IS NOT NULL THEN
        EXECUTE 'WITH added AS MATERIALIZED (' || added || '), '
             || 'words AS (INSERT INTO golden.search_word (source, word) '
             || 'SELECT DISTINCT source, word FROM added ON CONFLICT DO NOTHING) '
             || 'INSERT INTO golden.search_posting (source, word, golden_id) '
             || 'SELECT source, word, golden_id FROM added ON CONFLICT DO NOTHING';
    END IF;
    RETURN NULL;
END
$$;

-- The indexed columns: golden names (odata_service/schema.py's `word_indexed`).
DO $$
DECLARE
    target record;
BEGIN
    FOR target IN SELECT * FROM (VALUES ('account', 'name'), ('contact', 'name')) AS t(tbl, col)
    LOOP
        EXECUTE format('CREATE TRIGGER search_words_insert AFTER INSERT ON golden.%I'
            ' REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT'
            ' EXECUTE FUNCTION golden.maintain_search_words(%L, %L)',
            target.tbl, target.tbl, target.col);
        EXECUTE format('CREATE TRIGGER search_words_update AFTER UPDATE ON golden.%I'
            ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT'
            ' EXECUTE FUNCTION golden.maintain_search_words(%L, %L)',
            target.tbl, target.tbl, target.col);
        EXECUTE format('CREATE TRIGGER search_words_delete AFTER DELETE ON golden.%I'
            ' REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT'
            ' EXECUTE FUNCTION golden.maintain_search_words(%L, %L)',
            target.tbl, target.tbl, target.col);
        EXECUTE format('CREATE TRIGGER search_words_truncate AFTER TRUNCATE ON golden.%I'
            ' FOR EACH STATEMENT EXECUTE FUNCTION golden.maintain_search_words(%L, %L)',
            target.tbl, target.tbl, target.col);
    END LOOP;
END
$$;

-- Rows published before this migration.
DO $$
BEGIN
    EXECUTE 'WITH added AS MATERIALIZED ('
         || golden.search_words_sql('account', ARRAY['name'], 'golden.account')
         || ' UNION ALL '
         || golden.search_words_sql('contact', ARRAY['name'], 'golden.contact')
         || '), words AS (INSERT INTO golden.search_word (source, word) '
         || 'SELECT DISTINCT source, word FROM added) '
         || 'INSERT INTO golden.search_posting (source, word, golden_id) '
         || 'SELECT source, word, golden_id FROM added';
END
$$;
