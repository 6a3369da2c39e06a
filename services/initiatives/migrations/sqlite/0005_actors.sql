-- Who made a timeline step, submitted or screened is a resource name
-- (`people/{id}`, or a body: `organizations/`, `groups/`, `posts/{id}`) from
-- this release on: a typed name would be personal data that ErasePerson
-- cannot reach. Typed names recorded before are cleared (left empty), and the
-- columns are indexed for FindPersonReferences. Running it again changes
-- nothing. (postgres/0005_actors.sql is the same in PostgreSQL's JSON.)
UPDATE initiative_events SET actor = ''
WHERE actor <> '' AND actor NOT LIKE 'people/%' AND actor NOT LIKE 'organizations/%'
  AND actor NOT LIKE 'groups/%' AND actor NOT LIKE 'posts/%';
UPDATE submissions SET submitted_by = ''
WHERE submitted_by <> '' AND submitted_by NOT LIKE 'people/%' AND submitted_by NOT LIKE 'organizations/%'
  AND submitted_by NOT LIKE 'groups/%' AND submitted_by NOT LIKE 'posts/%';
UPDATE submissions SET screening = json_set(screening, '$.decided_by', '')
WHERE screening IS NOT NULL AND json_extract(screening, '$.decided_by') <> ''
  AND json_extract(screening, '$.decided_by') NOT LIKE 'people/%'
  AND json_extract(screening, '$.decided_by') NOT LIKE 'organizations/%'
  AND json_extract(screening, '$.decided_by') NOT LIKE 'groups/%'
  AND json_extract(screening, '$.decided_by') NOT LIKE 'posts/%';
CREATE INDEX IF NOT EXISTS initiative_events_actor ON initiative_events (actor);
CREATE INDEX IF NOT EXISTS submissions_submitted_by ON submissions (submitted_by);
