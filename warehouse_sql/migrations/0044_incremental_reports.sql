-- The golden accounts whose report rows incremental builds rewrote since the last
-- publication (NULL: the opportunities of no known account). The publication compares
-- only their rows, then empties it; duplicates are harmless.
CREATE TABLE golden_next.report_scope (golden_account_id varchar(18));
CREATE INDEX golden_next_pipeline_by_month_account_idx
    ON golden_next.pipeline_by_month (golden_account_id);
