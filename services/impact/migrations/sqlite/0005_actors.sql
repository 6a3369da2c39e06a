-- Who decided or reviewed an assessment's step, and who assessed a capacity
-- round, is a resource name (`people/{id}`, or a body: `organizations/`,
-- `groups/`, `posts/{id}`) from this release on: a typed name would be
-- personal data that ErasePerson cannot reach. Typed names recorded before
-- are cleared: a step's `decided_by` is left empty, a typed assessor is
-- dropped from the list. Running it again changes nothing.
-- (postgres/0005_actors.sql is the same in PostgreSQL's JSON.)
UPDATE assessment_documents SET history = (
    SELECT json_group_array(
        CASE
            WHEN json_extract(e.value, '$.decision.decided_by') = ''
              OR json_extract(e.value, '$.decision.decided_by') LIKE 'people/%'
              OR json_extract(e.value, '$.decision.decided_by') LIKE 'organizations/%'
              OR json_extract(e.value, '$.decision.decided_by') LIKE 'groups/%'
              OR json_extract(e.value, '$.decision.decided_by') LIKE 'posts/%'
            THEN json(e.value)
            ELSE json_set(e.value, '$.decision.decided_by', '')
        END)
    FROM json_each(assessment_documents.history) AS e
)
WHERE history <> '[]';
UPDATE capacity_assessments SET body = json_set(body, '$.assessors', json((
    SELECT json_group_array(a.value)
    FROM json_each(capacity_assessments.body, '$.assessors') AS a
    WHERE a.value LIKE 'people/%' OR a.value LIKE 'organizations/%'
       OR a.value LIKE 'groups/%' OR a.value LIKE 'posts/%'
)))
WHERE json_array_length(body, '$.assessors') > 0;
