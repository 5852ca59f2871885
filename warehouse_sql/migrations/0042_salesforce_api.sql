-- Orgs read through the Salesforce API: where each object's extract stands. A Bulk
-- API query job is read page by page; each page is committed with the locator of the
-- next, so an interrupted extract resumes where it stopped, and the org's table only
-- changes when every page is in.
CREATE TABLE org360.salesforce_extract (
    org                      varchar(40) NOT NULL,
    source_table             varchar(63) NOT NULL,
    sobject                  varchar(80) NOT NULL,
    -- The newest SystemModstamp merged; the next extract reads from it. Valid for the
    -- fields in fields_hash only: a newly read field is read for every record.
    watermark                timestamp,
    fields_hash              varchar(32),
    -- The query job being read, if any, and the fields it reads (it is resumed only
    -- for the same fields).
    job_id                   varchar(18),
    job_fields_hash          varchar(32),
    job_full                 boolean,
    job_created_at           timestamp,
    next_locator             text,
    pages_loaded             integer NOT NULL DEFAULT 0,
    rows_loaded              bigint NOT NULL DEFAULT 0,
    paging_done              boolean NOT NULL DEFAULT false,
    -- Hard deletions: Salesforce's `deleted` resource has been read up to here; every
    -- id was last read (a sweep) at swept_at.
    deletions_checked_until  timestamp,
    swept_at                 timestamp,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, source_table)
);

-- Golden ids an org refused (a validation rule, a locked record, a field not writable),
-- kept with Salesforce's error and written again by the next write-back.
CREATE TABLE org360.writeback_error (
    org              varchar(40) NOT NULL,
    object           varchar(16) NOT NULL,
    sfid             varchar(18) NOT NULL,
    golden_id        varchar(18) NOT NULL,
    error            text NOT NULL,
    attempts         integer NOT NULL DEFAULT 1,
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    last_failed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org, object, sfid)
);
