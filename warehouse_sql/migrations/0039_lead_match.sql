-- What each lead was found to be (`warehouse.leads`): the lead of its cluster, the
-- contact and the account it matched in any org (source records, so a golden id that
-- changes by a merge is followed), with the match weights. Rewritten at every run.
CREATE TABLE resolve.lead_match (
    org             varchar(40) NOT NULL,
    sfid            varchar(18) NOT NULL,
    cluster_org     varchar(40) NOT NULL,
    cluster_sfid    varchar(18) NOT NULL,
    contact_org     varchar(40),
    contact_sfid    varchar(18),
    contact_weight  double precision,
    account_org     varchar(40),
    account_sfid    varchar(18),
    account_weight  double precision,
    PRIMARY KEY (org, sfid)
);
