-- Who decided or reviewed an assessment's step, and who assessed a capacity
-- round, is a resource name (`people/{id}`, or a body: `organizations/`,
-- `groups/`, `posts/{id}`) from this release on: a typed name would be
-- personal data that ErasePerson cannot reach. Typed names recorded before
-- are cleared: a step's `decided_by` is left empty, a typed assessor is
-- dropped from the list. Running it again changes nothing.
-- (sqlite/0005_actors.sql is the same in SQLite's JSON.)
UPDATE assessment_documents SET history = (
    SELECT COALESCE(jsonb_agg(
        CASE
            WHEN e -> 'decision' ->> 'decided_by' = ''
              OR e -> 'decision' ->> 'decided_by' ~ '^(people|organizations|groups|posts)/'
            THEN e
            ELSE jsonb_set(e, '{decision,decided_by}', '""')
        END ORDER BY i), '[]'::jsonb)::text
    FROM jsonb_array_elements(assessment_documents.history::jsonb) WITH ORDINALITY AS t(e, i)
)
WHERE history <> '[]';
UPDATE capacity_assessments SET body = jsonb_set(body::jsonb, '{assessors}', COALESCE((
    SELECT jsonb_agg(a ORDER BY i)
    FROM jsonb_array_elements(body::jsonb -> 'assessors') WITH ORDINALITY AS t(a, i)
    WHERE a #>> '{}' ~ '^(people|organizations|groups|posts)/'
), '[]'::jsonb))::text
WHERE jsonb_typeof(body::jsonb -> 'assessors') = 'array'
  AND jsonb_array_length(body::jsonb -> 'assessors') > 0;
