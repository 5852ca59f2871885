-- The archive service's own bookkeeping, in the `archive` schema that 0002 created.
-- The per-org archive tables (archive.<org>_<object>) are not here: their columns
-- follow each org's Heroku Connect mapping, so archive.ensure_table_v1 (0032) creates
-- them from the live table when an org's first job runs.

-- Which archive tables exist, where their rows came from, and which of their columns
-- feed the fixed columns of archive.account_all / archive.contact_all.
CREATE TABLE archive.archived_object (
    org             varchar(40) NOT NULL,
    object          varchar(16) NOT NULL CHECK (object IN ('account', 'contact')),
    source_schema   varchar(63) NOT NULL,
    table_name      varchar(63) NOT NULL UNIQUE,
    view_columns    jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, object)
);

-- One archive or unarchive request. Counts are kept here, in the same transaction
-- as each batch, so a status read never has to count records.
CREATE TABLE archive.job (
    job_id              varchar(40) PRIMARY KEY,
    kind                varchar(10) NOT NULL CHECK (kind IN ('archive', 'unarchive')),
    org                 varchar(40) NOT NULL,
    object              varchar(16) NOT NULL CHECK (object IN ('account', 'contact')),
    source_schema       varchar(63) NOT NULL,
    -- NULL when the request named its records; else resolved by the worker.
    criteria            jsonb,
    selection_resolved  boolean     NOT NULL DEFAULT false,
    status              varchar(10) NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    total               integer,
    processed           integer     NOT NULL DEFAULT 0,
    counts              jsonb       NOT NULL DEFAULT '{}',
    -- Rows matched by the criteria that have no sfid yet (inserted in Postgres, not
    -- yet created in Salesforce): they cannot be archived and are reported here.
    skipped_without_sfid integer    NOT NULL DEFAULT 0,
    error               text,
    requested_by        varchar(255),
    callback_url        text,
    callback_status     varchar(10) CHECK (callback_status IN ('pending', 'delivered', 'failed')),
    callback_attempts   integer     NOT NULL DEFAULT 0,
    callback_error      text,
    -- Callbacks are an outbox: workers deliver those due, backing off between tries.
    callback_next_at    timestamptz,
    queue_job_id        bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz
);
CREATE INDEX job_active_idx ON archive.job (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX job_callback_due_idx ON archive.job (callback_next_at)
    WHERE callback_status = 'pending';

-- Every record a job touches and what happened to it (NULL: not processed yet).
CREATE TABLE archive.job_record (
    job_id      varchar(40) NOT NULL REFERENCES archive.job (job_id) ON DELETE CASCADE,
    sfid        varchar(18) NOT NULL,
    outcome     varchar(24),
    detail      text,
    PRIMARY KEY (job_id, sfid)
);
-- Workers claim the next batch of a job through this index; processed rows leave it.
CREATE INDEX job_record_todo_idx ON archive.job_record (job_id, sfid) WHERE outcome IS NULL;
