-- The golden records whose pairs a review rule (deals entered twice) looked for again
-- in incremental builds since the last publication. The publication compares only the
-- queue rows of these and of changed golden records, then empties it; duplicates are
-- harmless. Pending publication, so logged, as `changed` and `report_scope` are.
CREATE TABLE golden_next.review_scope (
    object      varchar(16) NOT NULL,
    golden_id   varchar(18) NOT NULL
);
