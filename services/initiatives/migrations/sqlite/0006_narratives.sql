-- An initiative's narrative (problem, objectives, solution, results, lessons
-- learned) is a list of texts per language from this release on, like its
-- titles. A text recorded before becomes the one entry of its list, in the
-- record's original language (its first title's); an empty one, an empty
-- list. Initiatives and the drafts submitted to calls hold the same JSON.
-- Only bodies still holding single texts change, so running it again changes
-- nothing. Both tables' bodies are converted in one scratch table, so that
-- the conversion is written once. (postgres/0006_narratives.sql
-- is the same in PostgreSQL's JSON.)
CREATE TEMP TABLE narrative_bodies AS
  SELECT 'initiatives' AS kind, id, body FROM initiatives WHERE json_type(body, '$.problem') = 'text'
  UNION ALL
  SELECT 'submissions', id, body FROM submissions WHERE json_type(body, '$.problem') = 'text';
UPDATE narrative_bodies SET body = json_patch(body, (
  SELECT json_group_object(f.value, CASE WHEN json_extract(body, '$.' || f.value) = '' THEN json('[]')
    ELSE json_array(json_object('language_code', json_extract(body, '$.titles[0].language_code'),
                                'text', json_extract(body, '$.' || f.value))) END)
  FROM json_each('["problem", "objectives", "solution", "results", "lessons_learned"]') AS f));
UPDATE initiatives SET body = (SELECT n.body FROM narrative_bodies n WHERE n.kind = 'initiatives' AND n.id = initiatives.id)
WHERE id IN (SELECT id FROM narrative_bodies WHERE kind = 'initiatives');
UPDATE submissions SET body = (SELECT n.body FROM narrative_bodies n WHERE n.kind = 'submissions' AND n.id = submissions.id)
WHERE id IN (SELECT id FROM narrative_bodies WHERE kind = 'submissions');
DROP TABLE narrative_bodies;
