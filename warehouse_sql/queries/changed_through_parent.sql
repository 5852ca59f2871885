-- Records compared through a parent's cluster (a contact through its account's):
-- when the parent moved to another cluster, so may they.
SELECT r.record_id FROM resolve.changed ch
JOIN {unified} r ON r.org = ch.org AND r.{parent_field} = ch.sfid
WHERE ch.object = {parent_object} AND ch.moved
