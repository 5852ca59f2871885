-- The archive schema and the two views that show every org's archived records in
-- one place (served over OData as ArchivedAccounts / ArchivedContacts). The views
-- start empty; the archive procedures rebuild them, with this same column list,
-- whenever an org's archive table is created.

CREATE SCHEMA IF NOT EXISTS archive;

CREATE VIEW archive.account_all AS
SELECT
    CAST(NULL AS varchar(60))   AS archive_key,   -- org || '/' || sfid
    CAST(NULL AS varchar(40))   AS org,
    CAST(NULL AS varchar(18))   AS sfid,
    CAST(NULL AS varchar(255))  AS name,
    CAST(NULL AS varchar(255))  AS website,
    CAST(NULL AS varchar(40))   AS phone,
    CAST(NULL AS varchar(40))   AS billing_city,
    CAST(NULL AS varchar(80))   AS billing_country,
    CAST(NULL AS timestamp)     AS systemmodstamp,
    CAST(NULL AS timestamptz)   AS archived_at,
    CAST(NULL AS varchar(255))  AS archived_by,
    CAST(NULL AS varchar(40))   AS job_id,
    CAST(NULL AS timestamptz)   AS restored_at,
    CAST(NULL AS varchar(18))   AS restored_sfid
WHERE false;

CREATE VIEW archive.contact_all AS
SELECT
    CAST(NULL AS varchar(60))   AS archive_key,
    CAST(NULL AS varchar(40))   AS org,
    CAST(NULL AS varchar(18))   AS sfid,
    CAST(NULL AS varchar(40))   AS first_name,
    CAST(NULL AS varchar(80))   AS last_name,
    CAST(NULL AS varchar(80))   AS email,
    CAST(NULL AS varchar(40))   AS phone,
    CAST(NULL AS varchar(18))   AS account_sfid,
    CAST(NULL AS timestamp)     AS systemmodstamp,
    CAST(NULL AS timestamptz)   AS archived_at,
    CAST(NULL AS varchar(255))  AS archived_by,
    CAST(NULL AS varchar(40))   AS job_id,
    CAST(NULL AS timestamptz)   AS restored_at,
    CAST(NULL AS varchar(18))   AS restored_sfid
WHERE false;
