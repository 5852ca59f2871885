-- The tables of one catalogue object that no migration created (an object declared
-- since, such as a custom `partner__c`): the same shapes the migrations give accounts
-- and contacts. `warehouse.tables` fills the placeholders with quoted names and the
-- columns the object's fields declare; `{obj}` is the object's (checked) name.

CREATE TABLE {staging} (
    org             varchar(40) NOT NULL,
    sfid            varchar(18) NOT NULL,
    {staging_fields}
    systemmodstamp  timestamp,
    hc_lastop       varchar(32),
    change_seq      bigint NOT NULL DEFAULT nextval('org360.change_seq'),
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON {staging} (change_seq);

CREATE TABLE {unified} (
    record_id       bigserial UNIQUE,
    org             varchar(40) NOT NULL,
    sfid            varchar(18) NOT NULL,
    {unified_fields}
    completeness    smallint NOT NULL DEFAULT 0,
    systemmodstamp  timestamp,
    hc_failed       boolean NOT NULL DEFAULT false,
    change_seq      bigint NOT NULL,
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON {unified} (change_seq);

-- Scored pairs and clusters: the shape every object's share (migrations 0001, 0004,
-- 0005 and 0034 on accounts').
CREATE TABLE {pair} (LIKE resolve.account_pair INCLUDING ALL);
CREATE TABLE {cluster} (LIKE resolve.account_cluster INCLUDING ALL);

CREATE TABLE {golden} (
    golden_id       varchar(18) PRIMARY KEY,
    {golden_fields}
    member_count    integer NOT NULL,
    orgs            varchar(255) NOT NULL,
    provenance      jsonb NOT NULL,
    last_modified   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 90);
{name_indexes}

-- Unlogged, as every table of the next publication (migration 0045).
CREATE UNLOGGED TABLE {golden_next} (LIKE {golden} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE {golden_next} ADD PRIMARY KEY (golden_id);
-- Nullable here so the "every golden record has a name" check can report offenders.
ALTER TABLE {golden_next} ALTER COLUMN name DROP NOT NULL;
