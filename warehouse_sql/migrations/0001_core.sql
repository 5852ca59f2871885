-- org360's own schemas. org360 never writes to Heroku Connect's schemas (the
-- archive procedures excepted, which act as an app would).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS org360;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS unified;
CREATE SCHEMA IF NOT EXISTS resolve;
CREATE SCHEMA IF NOT EXISTS golden_next;
CREATE SCHEMA IF NOT EXISTS golden;

-- Incremental state: the highest systemmodstamp read per org and object.
CREATE TABLE org360.watermark (
    org             varchar(40)  NOT NULL,
    object          varchar(16)  NOT NULL,
    source_schema   varchar(63)  NOT NULL,
    systemmodstamp  timestamp    NULL,
    -- Which columns were read: a changed mapping re-reads every row once.
    mapping_hash    varchar(64)  NULL,
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (org, object)
);

-- How far a downstream stage has consumed an upstream change sequence.
CREATE TABLE org360.progress (
    stage       varchar(80) PRIMARY KEY,
    change_seq  bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE org360.change_seq;

-- Staging: each org's records, mapped to unified field names, values as text exactly
-- as Connect stored them. One row per live (org, sfid).
CREATE TABLE staging.account (
    org                 varchar(40) NOT NULL,
    sfid                varchar(18) NOT NULL,
    name                text, website text, phone text,
    billing_street      text, billing_city text, billing_state text,
    billing_postcode    text, billing_country text,
    industry            text, type text, annual_revenue text, currency text,
    employees           text, registration_number text,
    systemmodstamp      timestamp,
    hc_lastop           varchar(32),
    change_seq          bigint NOT NULL DEFAULT nextval('org360.change_seq'),
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON staging.account (change_seq);

CREATE TABLE staging.contact (
    org                 varchar(40) NOT NULL,
    sfid                varchar(18) NOT NULL,
    first_name          text, last_name text, email text, phone text, mobile_phone text,
    title               text, mailing_street text, mailing_city text, mailing_state text,
    mailing_postcode    text, mailing_country text, birthdate text, national_id text,
    account_sfid        text,
    systemmodstamp      timestamp,
    hc_lastop           varchar(32),
    change_seq          bigint NOT NULL DEFAULT nextval('org360.change_seq'),
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON staging.contact (change_seq);

-- Deletions seen by staging, consumed by the unified stage.
CREATE TABLE staging.deletion (
    object      varchar(16) NOT NULL,
    org         varchar(40) NOT NULL,
    sfid        varchar(18) NOT NULL,
    change_seq  bigint NOT NULL DEFAULT nextval('org360.change_seq'),
    PRIMARY KEY (object, org, sfid)
);
CREATE INDEX ON staging.deletion (change_seq);

-- Unified: cleaned values (display) and match keys, typed. record_id is org360's
-- compact identity for a source record, stable while the record lives.
CREATE TABLE unified.account (
    record_id               bigserial UNIQUE,
    org                     varchar(40) NOT NULL,
    sfid                    varchar(18) NOT NULL,
    name                    varchar(255),
    website                 varchar(255),
    domain                  varchar(255),
    phone                   varchar(40),
    billing_street          varchar(255),
    billing_city            varchar(80),
    billing_state           varchar(80),
    billing_postcode        varchar(20),
    billing_country         varchar(80),
    billing_country_code    char(2),
    industry                varchar(255),
    type                    varchar(255),
    annual_revenue          double precision,
    currency                char(3),
    employees               integer,
    registration_number     varchar(80),
    key_name                text,
    key_name_tokens         text,
    key_street              text,
    key_postcode            text,
    key_registration        text,
    completeness            smallint NOT NULL DEFAULT 0,
    systemmodstamp          timestamp,
    hc_failed               boolean NOT NULL DEFAULT false,
    change_seq              bigint NOT NULL,
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON unified.account (change_seq);

CREATE TABLE unified.contact (
    record_id               bigserial UNIQUE,
    org                     varchar(40) NOT NULL,
    sfid                    varchar(18) NOT NULL,
    first_name              varchar(40),
    last_name               varchar(80),
    email                   varchar(80),
    phone                   varchar(40),
    mobile_phone            varchar(40),
    title                   varchar(128),
    mailing_street          varchar(255),
    mailing_city            varchar(80),
    mailing_state           varchar(80),
    mailing_postcode        varchar(20),
    mailing_country         varchar(80),
    mailing_country_code    char(2),
    birthdate               date,
    national_id             varchar(80),
    account_sfid            varchar(18),
    key_first               text,
    key_last                text,
    key_email               text,
    key_street              text,
    key_postcode            text,
    key_national_id         text,
    completeness            smallint NOT NULL DEFAULT 0,
    systemmodstamp          timestamp,
    hc_failed               boolean NOT NULL DEFAULT false,
    change_seq              bigint NOT NULL,
    PRIMARY KEY (org, sfid)
);
CREATE INDEX ON unified.contact (change_seq);
CREATE INDEX ON unified.contact (org, account_sfid);

-- Resolve: scored candidate pairs and the clusters they form.
CREATE TABLE resolve.account_pair (
    left_id         bigint NOT NULL,
    right_id        bigint NOT NULL,
    match_weight    double precision NOT NULL,
    probability     double precision NOT NULL,
    field_weights   jsonb NOT NULL,
    PRIMARY KEY (left_id, right_id)
);
CREATE TABLE resolve.contact_pair (LIKE resolve.account_pair INCLUDING ALL);

CREATE TABLE resolve.account_cluster (
    record_id   bigint PRIMARY KEY,
    cluster_id  bigint NOT NULL
);
CREATE INDEX ON resolve.account_cluster (cluster_id);
CREATE TABLE resolve.contact_cluster (LIKE resolve.account_cluster INCLUDING ALL);

-- Golden records. golden_next holds the next publication; golden is what readers see.
-- Lengths follow Salesforce's, so Salesforce Connect maps them to the same field sizes.
CREATE TABLE golden.account (
    golden_id               varchar(18) PRIMARY KEY,
    name                    varchar(255) NOT NULL,
    website                 varchar(255),
    domain                  varchar(255),
    phone                   varchar(40),
    billing_street          varchar(255),
    billing_city            varchar(80),
    billing_state           varchar(80),
    billing_postcode        varchar(20),
    billing_country         varchar(80),
    billing_country_code    char(2),
    industry                varchar(255),
    type                    varchar(255),
    annual_revenue          double precision,
    currency                char(3),
    employees               integer,
    registration_number     varchar(80),
    member_count            integer NOT NULL,
    orgs                    varchar(255) NOT NULL,
    provenance              jsonb NOT NULL,
    last_modified           timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX golden_account_name_idx ON golden.account (name, golden_id);
CREATE INDEX golden_account_name_trgm ON golden.account USING gin (name gin_trgm_ops);
CREATE INDEX golden_account_phone_trgm ON golden.account USING gin (phone gin_trgm_ops);

CREATE TABLE golden.contact (
    golden_id               varchar(18) PRIMARY KEY,
    first_name              varchar(40),
    -- Salesforce requires a last name, but merged data (web forms, imports) may lack
    -- it; a golden contact needs a name, first or last.
    last_name               varchar(80),
    name                    varchar(121) NOT NULL,
    email                   varchar(80),
    phone                   varchar(40),
    mobile_phone            varchar(40),
    title                   varchar(128),
    mailing_street          varchar(255),
    mailing_city            varchar(80),
    mailing_state           varchar(80),
    mailing_postcode        varchar(20),
    mailing_country         varchar(80),
    mailing_country_code    char(2),
    birthdate               date,
    national_id             varchar(80),
    account_golden_id       varchar(18) REFERENCES golden.account (golden_id)
                                DEFERRABLE INITIALLY DEFERRED,
    member_count            integer NOT NULL,
    orgs                    varchar(255) NOT NULL,
    provenance              jsonb NOT NULL,
    last_modified           timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX golden_contact_name_idx ON golden.contact (last_name, first_name, golden_id);
CREATE INDEX golden_contact_account_idx ON golden.contact (account_golden_id);
CREATE INDEX golden_contact_name_trgm ON golden.contact USING gin (name gin_trgm_ops);
CREATE INDEX golden_contact_email_trgm ON golden.contact USING gin (email gin_trgm_ops);

CREATE TABLE golden.xref (
    object          varchar(16) NOT NULL CHECK (object IN ('account', 'contact')),
    org             varchar(40) NOT NULL,
    sfid            varchar(18) NOT NULL,
    golden_id       varchar(18) NOT NULL,
    source_schema   varchar(63) NOT NULL,
    match_weight    double precision,
    is_survivor     boolean NOT NULL DEFAULT false,
    hc_failed       boolean NOT NULL DEFAULT false,
    systemmodstamp  timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object, org, sfid)
);
CREATE INDEX golden_xref_golden_idx ON golden.xref (golden_id);

CREATE TABLE golden.duplicate_review (
    review_id       varchar(40) PRIMARY KEY,
    object          varchar(16) NOT NULL CHECK (object IN ('account', 'contact')),
    org_a           varchar(40) NOT NULL,
    sfid_a          varchar(18) NOT NULL,
    golden_id_a     varchar(18) NOT NULL,
    label_a         varchar(255),
    org_b           varchar(40) NOT NULL,
    sfid_b          varchar(18) NOT NULL,
    golden_id_b     varchar(18) NOT NULL,
    label_b         varchar(255),
    probability     double precision NOT NULL,
    match_weight    double precision NOT NULL,
    field_weights   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX golden_duplicate_review_prob_idx
    ON golden.duplicate_review (probability DESC, review_id);

-- The next publication: same shape, no indexes beyond keys, filled by the pipeline.
CREATE TABLE golden_next.account (LIKE golden.account INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.account ADD PRIMARY KEY (golden_id);
-- Nullable here so the "every golden record has a name" check can report offenders.
ALTER TABLE golden_next.account ALTER COLUMN name DROP NOT NULL;
CREATE TABLE golden_next.contact (LIKE golden.contact INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.contact ADD PRIMARY KEY (golden_id);
ALTER TABLE golden_next.contact ALTER COLUMN name DROP NOT NULL;
CREATE TABLE golden_next.xref (LIKE golden.xref INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.xref ADD PRIMARY KEY (object, org, sfid);
CREATE TABLE golden_next.duplicate_review
    (LIKE golden.duplicate_review INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.duplicate_review ADD PRIMARY KEY (review_id);

-- The matcher's fitted parameters per object (u values, prior), reused while the data
-- stay about the same size, so reruns score the same pairs the same way.
CREATE TABLE org360.match_model (
    object      varchar(16) PRIMARY KEY,
    parameters  jsonb       NOT NULL,
    fitted_at   timestamptz NOT NULL DEFAULT now()
);

-- Stable golden ids: when each id was issued, so a merge keeps the older one.
CREATE TABLE org360.golden_id (
    golden_id   varchar(18) PRIMARY KEY,
    object      varchar(16) NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
