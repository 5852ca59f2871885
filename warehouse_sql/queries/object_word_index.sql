-- The word index the OData service answers `contains` and `$search` on golden names
-- from (migration 0021), for an object whose declaration asks for it (`word_index`).
CREATE TRIGGER search_words_insert AFTER INSERT ON {golden}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION golden.maintain_search_words('{obj}', 'name');
CREATE TRIGGER search_words_update AFTER UPDATE ON {golden}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION golden.maintain_search_words('{obj}', 'name');
CREATE TRIGGER search_words_delete AFTER DELETE ON {golden}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION golden.maintain_search_words('{obj}', 'name');
CREATE TRIGGER search_words_truncate AFTER TRUNCATE ON {golden}
    FOR EACH STATEMENT EXECUTE FUNCTION golden.maintain_search_words('{obj}', 'name');
