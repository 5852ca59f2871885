-- Every golden record of :object in the queue, published or built: what a publication
-- compares after a review rule looked for all of the object's pairs again (its query
-- changed) in a run that is otherwise incremental.
INSERT INTO golden_next.review_scope (object, golden_id)
SELECT :object, golden_id_a FROM golden.duplicate_review WHERE object = :object
UNION SELECT :object, golden_id_b FROM golden.duplicate_review WHERE object = :object
UNION SELECT :object, golden_id_a FROM golden_next.duplicate_review WHERE object = :object
UNION SELECT :object, golden_id_b FROM golden_next.duplicate_review WHERE object = :object
