-- Indexes the OData service needs beyond 0001 (see odata_service/schema.py).

-- SourceRecords' single key: object/org/sfid, computed in SQL. The expression must stay
-- identical to the one odata_service/model.py builds, or the planner will not use it.
CREATE INDEX golden_xref_source_key_idx
    ON golden.xref ((object || '/' || org || '/' || sfid));

-- $search and contains() on the remaining searchable columns (ILIKE '%term%').
CREATE INDEX golden_account_website_trgm ON golden.account USING gin (website gin_trgm_ops);
CREATE INDEX golden_contact_phone_trgm ON golden.contact USING gin (phone gin_trgm_ops);

-- List views of contacts ordered by full name, paged by keyset (name, key).
CREATE INDEX golden_contact_full_name_idx ON golden.contact (name, golden_id);
