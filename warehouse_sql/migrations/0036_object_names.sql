-- Which objects org360 consolidates is the catalogue's to say (core/catalogue.py). The
-- tables that hold rows of any object check only that the object is named as the
-- catalogue names objects, so declaring a new object needs no change of theirs.
-- (Archiving, with its own tables and procedures, handles accounts and contacts.)
ALTER TABLE golden.xref DROP CONSTRAINT xref_object_check,
    ADD CONSTRAINT xref_object_check CHECK (object ~ '^[a-z][a-z0-9_]*$');
ALTER TABLE golden_next.xref DROP CONSTRAINT xref_object_check,
    ADD CONSTRAINT xref_object_check CHECK (object ~ '^[a-z][a-z0-9_]*$');
ALTER TABLE golden.duplicate_review DROP CONSTRAINT duplicate_review_object_check,
    ADD CONSTRAINT duplicate_review_object_check CHECK (object ~ '^[a-z][a-z0-9_]*$');
ALTER TABLE golden_next.duplicate_review DROP CONSTRAINT duplicate_review_object_check,
    ADD CONSTRAINT duplicate_review_object_check CHECK (object ~ '^[a-z][a-z0-9_]*$');
ALTER TABLE steward.decision DROP CONSTRAINT decision_object_check,
    ADD CONSTRAINT decision_object_check CHECK (object ~ '^[a-z][a-z0-9_]*$');
