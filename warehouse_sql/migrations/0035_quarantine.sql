-- Quarantine: live source records org360 cannot resolve as they stand. They stay out
-- of resolution and are published in golden.rejected_record, so every live source
-- record is in exactly one of golden.xref and golden.rejected_record. A record is
-- released by itself when a later run sees it fixed.

-- Found while staging (the row cannot be keyed: its sfid is not a Salesforce id, or
-- several rows share it). Rewritten for an org and object at each staging run.
CREATE TABLE staging.rejected (
    object      varchar(16)  NOT NULL,
    org         varchar(40)  NOT NULL,
    -- As the source holds it, cut to a length an index can hold.
    sfid        varchar(100) NOT NULL,
    reason      varchar(32)  NOT NULL,
    detail      text         NOT NULL,
    first_seen  timestamptz  NOT NULL DEFAULT now(),
    last_seen   timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (object, org, sfid)
);

-- Every rejection the unified records were built beside: staging's (copied under the
-- unified stage's lock, so both agree with the same staged state) and the unified
-- stage's own (nothing to recognise the record by).
CREATE TABLE unified.rejected (
    LIKE staging.rejected INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    found_by    varchar(16)  NOT NULL CHECK (found_by IN ('staging', 'unified')),
    PRIMARY KEY (object, org, sfid)
);

CREATE TABLE golden.rejected_record (
    object      varchar(16)  NOT NULL,
    org         varchar(40)  NOT NULL,
    sfid        varchar(100) NOT NULL,
    -- A short stable code; `org360 review rejected` says what to fix for each.
    reason      varchar(32)  NOT NULL,
    detail      text         NOT NULL,
    first_seen  timestamptz  NOT NULL,
    last_seen   timestamptz  NOT NULL,
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (object, org, sfid)
);
CREATE INDEX golden_rejected_record_reason_idx ON golden.rejected_record (org, reason);

CREATE TABLE golden_next.rejected_record
    (LIKE golden.rejected_record INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.rejected_record ADD PRIMARY KEY (object, org, sfid);

-- Records normalised before are normalised again by the next run, under the rules
-- that clean values and set unresolvable records aside.
DELETE FROM org360.progress WHERE stage IN ('unified.account', 'unified.contact');
