-- Incremental resolution: a run after a small change re-scores only the changed
-- records' candidate pairs, re-clusters only the groups they touch, and rebuilds and
-- publishes only the golden records those groups hold (pipelines/warehouse/delta.py).

-- Which kept pairs are matches (clustering's edges); the rest are review candidates.
ALTER TABLE resolve.account_pair ADD COLUMN is_match boolean NOT NULL DEFAULT false;
ALTER TABLE resolve.contact_pair ADD COLUMN is_match boolean NOT NULL DEFAULT false;
-- Per-field weights are written for every kept pair (hundreds of thousands per run) and
-- read for a few: kept as checked text (json), made jsonb where the review queue
-- publishes them.
ALTER TABLE resolve.account_pair ALTER COLUMN field_weights TYPE json USING field_weights::json;
ALTER TABLE resolve.contact_pair ALTER COLUMN field_weights TYPE json USING field_weights::json;
-- Pairs are removed by either record.
CREATE INDEX ON resolve.account_pair (right_id);
CREATE INDEX ON resolve.contact_pair (right_id);

-- Records the unified stage deleted, so resolution can drop their pairs and clusters.
CREATE TABLE unified.deletion (
    object      varchar(16) NOT NULL,
    record_id   bigint      NOT NULL,
    org         varchar(40) NOT NULL,
    sfid        varchar(18) NOT NULL,
    change_seq  bigint      NOT NULL DEFAULT nextval('org360.change_seq'),
    PRIMARY KEY (object, record_id)
);
CREATE INDEX ON unified.deletion (change_seq);

-- What the last resolution of each object consumed, and every record's blocking keys
-- then (hashes, rule by rule, packed as arrays: a changed record finds its candidate
-- pairs among them without recomputing every record's keys).
CREATE TABLE resolve.state (
    object          varchar(16) PRIMARY KEY,
    change_seq      bigint      NOT NULL,
    -- The model and blocking rules the stored pairs were scored with.
    fingerprint     varchar(64) NOT NULL,
    resolved_at     timestamptz NOT NULL DEFAULT now()
);
-- Parts 0, 1, ... hold every record's keys as a full run wrote them; parts -1, -2, ...
-- each incremental run's change since (new keys of changed records, removed records).
CREATE TABLE resolve.block_key (
    object      varchar(16) NOT NULL,
    part        integer     NOT NULL,
    record_ids  bytea       NOT NULL,
    keys        bytea       NOT NULL,
    removed     bytea       NULL,
    PRIMARY KEY (object, part)
);
-- Hashes do not compress: storing them as they are saves a futile compression pass.
ALTER TABLE resolve.block_key ALTER COLUMN record_ids SET STORAGE EXTERNAL;
ALTER TABLE resolve.block_key ALTER COLUMN keys SET STORAGE EXTERNAL;
ALTER TABLE resolve.block_key ALTER COLUMN removed SET STORAGE EXTERNAL;

-- Changes resolved but not yet published: the source records whose golden record must
-- be rebuilt, or the whole object. Publication consumes them.
CREATE TABLE resolve.changed (
    object  varchar(16) NOT NULL,
    org     varchar(40) NOT NULL,
    sfid    varchar(18) NOT NULL,
    -- Its cluster changed (or it is new, or gone): records compared through it (a
    -- contact through its account's cluster) are compared again.
    moved   boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (object, org, sfid)
);
CREATE TABLE resolve.rebuild (
    object  varchar(16) PRIMARY KEY
);
-- An incremental build finds a changed record's golden-id mates by golden id.
CREATE INDEX ON golden_next.xref (golden_id);

-- Golden ids the next publication rebuilt (before and after), while changes are pending.
CREATE TABLE golden_next.changed (
    object      varchar(16) NOT NULL,
    golden_id   varchar(18) NOT NULL,
    PRIMARY KEY (object, golden_id)
);
