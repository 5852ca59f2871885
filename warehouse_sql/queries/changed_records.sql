-- The live records of one object changed since a change sequence number.
SELECT record_id FROM {unified} WHERE change_seq > :since
