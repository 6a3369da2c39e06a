-- What FindSimilar scores a candidate on, stored beside it: the analysed
-- words of its titles, summaries and problem statements, its tags and SDGs
-- (JSON; sector and stage are columns already), written with its terms.
-- Scoring a candidate then reads this column on the primary key instead of
-- its whole body, and analyses nothing again. NULL until written: the
-- initiatives stored before are indexed again by the background job of
-- migration 7 (which now writes this column too), from the start; until
-- then FindSimilar analyses their bodies as before.
ALTER TABLE initiatives ADD COLUMN similar_profile TEXT;
DELETE FROM word_backfill;
INSERT INTO word_backfill (after) SELECT '' WHERE EXISTS (SELECT 1 FROM initiatives);
