-- The figures a 360 report needs, computed from the golden opportunities (Salesforce
-- Connect cannot SUM or GROUP BY external objects), published with the rest. Their
-- names and columns are a contract for other tools; columns may be added.
CREATE TABLE golden.account_summary (
    golden_id           varchar(18) PRIMARY KEY,
    open_pipeline       double precision,
    weighted_pipeline   double precision,
    won_this_year       double precision,
    won_last_year       double precision,
    lost_this_year      double precision,
    open_opportunities  integer NOT NULL,
    orgs                varchar(255) NOT NULL,
    first_close_date    date,
    last_close_date     date,
    open_leads          integer NOT NULL DEFAULT 0,
    reporting_currency  char(3) NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE golden.pipeline_by_month (
    -- One key for Salesforce Connect's External ID: account/org/funnel stage/month.
    row_key             varchar(330) PRIMARY KEY,
    golden_account_id   varchar(18),
    org                 varchar(40) NOT NULL,
    funnel_stage        varchar(255),
    close_month         date,
    amount_reporting    double precision,
    opportunities       integer NOT NULL,
    reporting_currency  char(3) NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX golden_pipeline_by_month_account_idx ON golden.pipeline_by_month (golden_account_id);

CREATE TABLE golden_next.account_summary
    (LIKE golden.account_summary INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.account_summary ADD PRIMARY KEY (golden_id);
CREATE TABLE golden_next.pipeline_by_month
    (LIKE golden.pipeline_by_month INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE golden_next.pipeline_by_month ADD PRIMARY KEY (row_key);
