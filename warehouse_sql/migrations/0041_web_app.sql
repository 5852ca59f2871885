-- The web app's people: who may sign in, with which role, and their sessions. A
-- password is kept only as an argon2 hash; a session only as the SHA-256 of the
-- random token its cookie holds, so neither table lets anyone sign in as anyone.
CREATE TABLE org360.web_user (
    email          varchar(254) PRIMARY KEY CHECK (email = lower(email) AND email LIKE '%_@_%'),
    password_hash  text         NOT NULL,
    role           varchar(16)  NOT NULL CHECK (role IN ('viewer', 'steward', 'admin')),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    updated_at     timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE org360.web_session (
    token_sha256   bytea        PRIMARY KEY,
    email          varchar(254) NOT NULL REFERENCES org360.web_user (email) ON DELETE CASCADE,
    csrf_token     text         NOT NULL,
    created_at     timestamptz  NOT NULL DEFAULT now(),
    last_seen_at   timestamptz  NOT NULL DEFAULT now(),
    expires_at     timestamptz  NOT NULL
);
CREATE INDEX web_session_email_idx ON org360.web_session (email);

-- Every steward action on a pair, in order: decisions (from the command line or the
-- web app), skips and undos. steward.decision holds what stands for each pair; this
-- holds how it came to be, for the history pages and for undo.
CREATE TABLE steward.decision_log (
    id          bigserial    PRIMARY KEY,
    object      varchar(16)  NOT NULL CHECK (object ~ '^[a-z][a-z0-9_]*$'),
    org_a       varchar(40)  NOT NULL,
    sfid_a      varchar(18)  NOT NULL,
    org_b       varchar(40)  NOT NULL,
    sfid_b      varchar(18)  NOT NULL,
    action      varchar(16)  NOT NULL CHECK (action IN ('match', 'no_match', 'skip', 'undo')),
    decided_by  varchar(255) NOT NULL,
    decided_at  timestamptz  NOT NULL DEFAULT now(),
    note        text,
    CHECK ((org_a, sfid_a) < (org_b, sfid_b))
);
CREATE INDEX decision_log_pair_idx ON steward.decision_log (object, org_a, sfid_a, org_b, sfid_b, id);
CREATE INDEX decision_log_by_idx ON steward.decision_log (decided_by, id);

-- The decisions taken before this migration, as their history's first entries.
INSERT INTO steward.decision_log
    (object, org_a, sfid_a, org_b, sfid_b, action, decided_by, decided_at, note)
SELECT object, org_a, sfid_a, org_b, sfid_b, decision, decided_by, decided_at, note
FROM steward.decision ORDER BY decided_at;

-- Each publication: when, and when the run that made it began (a steward decision
-- taken before that is in it), with the rows of each published table.
CREATE TABLE org360.publication (
    id              bigserial   PRIMARY KEY,
    published_at    timestamptz NOT NULL DEFAULT now(),
    run_started_at  timestamptz NOT NULL,
    incremental     boolean     NOT NULL,
    row_counts      jsonb       NOT NULL DEFAULT '{}'
);

-- The web app's search box finds an account by its web domain or registration number.
CREATE INDEX golden_account_domain_idx ON golden.account (domain);
CREATE INDEX golden_account_registration_idx ON golden.account (registration_number);
