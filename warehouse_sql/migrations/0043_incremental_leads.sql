-- Incremental lead matching (`warehouse.lead_increments`): a run after a small change
-- matches again only the leads whose own records or whose candidates changed; every
-- other lead keeps what the last matching found.

-- Every record's keys as lead matching last saw them (its blocking rules', its term
-- frequency columns' and a hash of all it compares), per object: 'lead_person',
-- 'contact_person' (the person model's records), 'lead_company' (the leads that match
-- no person), 'account_company' (the company model's). Laid out as resolve.block_key:
-- parts 0, 1, ... as a full matching wrote them, parts -1, -2, ... each later change.
CREATE TABLE resolve.lead_match_key (LIKE resolve.block_key INCLUDING ALL);

-- The matching pairs each lead is in, with the weight they were scored with: with
-- another lead (stored both ways), with a contact (the person model) or with an
-- account (the company model). A lead's links are worked out from them; a changed
-- record's pairs are scored again and replace the ones it had.
CREATE TABLE resolve.lead_match_pair (
    lead_id         bigint           NOT NULL,
    other           varchar(7)       NOT NULL CHECK (other IN ('lead', 'contact', 'account')),
    other_id        bigint           NOT NULL,
    match_weight    double precision NOT NULL,
    PRIMARY KEY (lead_id, other, other_id)
);
CREATE INDEX ON resolve.lead_match_pair (other, other_id);

-- What each lead was found to be, by its record id too (an incremental run rewrites
-- the rows of the leads it matched again, and of leads gone). The next run matches
-- every lead afresh and fills it.
DELETE FROM resolve.state WHERE object = 'lead_match';
TRUNCATE resolve.lead_match;
ALTER TABLE resolve.lead_match ADD COLUMN record_id bigint NOT NULL;
CREATE UNIQUE INDEX ON resolve.lead_match (record_id);

-- The share of a model's records ('person', 'company') each value of a term-frequency
-- column had when the pairs agreeing on it were last scored: value hashes and shares
-- (float8), packed. A value whose share has moved further from it since has its leads
-- scored again, so that no weight drifts far from what a full matching gives.
CREATE TABLE resolve.lead_match_frequency (
    model       varchar(16) NOT NULL,
    column_name varchar(63) NOT NULL,
    hashes      bytea       NOT NULL,
    shares      bytea       NOT NULL,
    PRIMARY KEY (model, column_name)
);
ALTER TABLE resolve.lead_match_frequency ALTER COLUMN hashes SET STORAGE EXTERNAL;
ALTER TABLE resolve.lead_match_frequency ALTER COLUMN shares SET STORAGE EXTERNAL;
