-- Data stewards' decisions about pairs of source records. They refer to source records
-- (org, sfid), never to golden ids, so they survive reruns and re-clustering; the
-- matcher treats them as hard constraints (must-link / cannot-link).

CREATE SCHEMA IF NOT EXISTS steward;

CREATE TABLE steward.decision (
    object      varchar(16)  NOT NULL CHECK (object IN ('account', 'contact')),
    org_a       varchar(40)  NOT NULL,
    sfid_a      varchar(18)  NOT NULL,
    org_b       varchar(40)  NOT NULL,
    sfid_b      varchar(18)  NOT NULL,
    decision    varchar(16)  NOT NULL CHECK (decision IN ('match', 'no_match')),
    decided_by  varchar(255) NOT NULL,
    decided_at  timestamptz  NOT NULL DEFAULT now(),
    note        text,
    PRIMARY KEY (object, org_a, sfid_a, org_b, sfid_b),
    -- One row per unordered pair: a is the smaller (org, sfid).
    CHECK ((org_a, sfid_a) < (org_b, sfid_b))
);
