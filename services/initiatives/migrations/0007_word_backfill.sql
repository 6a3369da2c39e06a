-- FindSimilar looks initiatives up by the analysed terms of their texts
-- ('word' rows of initiative_terms, written with the other terms from this
-- release on). The analysis is the service's (Rust), so no SQL can write
-- them for the initiatives stored before: this records that they are still
-- to index, and the service indexes them in the background once migrated,
-- in id order, a batch per transaction, resuming after `after` (the last id
-- done); the row goes when it is done. A new, empty library records nothing.
CREATE TABLE word_backfill (after TEXT NOT NULL);
INSERT INTO word_backfill (after) SELECT '' WHERE EXISTS (SELECT 1 FROM initiatives);
