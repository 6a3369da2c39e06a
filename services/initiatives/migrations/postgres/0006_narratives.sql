-- An initiative's narrative (problem, objectives, solution, results, lessons
-- learned) is a list of texts per language from this release on, like its
-- titles. A text recorded before becomes the one entry of its list, in the
-- record's original language (its first title's); an empty one, an empty
-- list. Initiatives and the drafts submitted to calls hold the same JSON.
-- Only bodies still holding single texts change, so running it again changes
-- nothing. Both tables' bodies are converted in one scratch table, so that
-- the conversion is written once. (sqlite/0006_narratives.sql
-- is the same in SQLite's JSON.)
CREATE TEMP TABLE narrative_bodies AS
  SELECT 'initiatives' AS kind, id, body::jsonb AS b FROM initiatives WHERE jsonb_typeof(body::jsonb -> 'problem') = 'string'
  UNION ALL
  SELECT 'submissions', id, body::jsonb FROM submissions WHERE jsonb_typeof(body::jsonb -> 'problem') = 'string';
UPDATE narrative_bodies SET b = b || (
  SELECT jsonb_object_agg(f, CASE WHEN b ->> f = '' THEN '[]'::jsonb
    ELSE jsonb_build_array(jsonb_build_object('language_code', b -> 'titles' -> 0 ->> 'language_code',
                                              'text', b ->> f)) END)
  FROM unnest(ARRAY['problem', 'objectives', 'solution', 'results', 'lessons_learned']) AS f);
UPDATE initiatives AS t SET body = n.b::text FROM narrative_bodies n WHERE n.kind = 'initiatives' AND n.id = t.id;
UPDATE submissions AS t SET body = n.b::text FROM narrative_bodies n WHERE n.kind = 'submissions' AND n.id = t.id;
DROP TABLE narrative_bodies;
