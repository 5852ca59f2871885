-- Resolution scores its candidate pairs in shards (see pipelines/warehouse/resolve.py);
-- each shard's pairs are marked, so a retried shard replaces exactly its own.
ALTER TABLE resolve.account_pair ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE resolve.contact_pair ADD COLUMN shard smallint NOT NULL DEFAULT 0;
