-- The settings golden records were last built with (org priorities, the main org, the
-- reporting currency, currencies and stage maps), as a fingerprint: when they change,
-- the next build rebuilds every golden record instead of the changed ones.
CREATE TABLE org360.golden_settings (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    fingerprint  text NOT NULL
);
