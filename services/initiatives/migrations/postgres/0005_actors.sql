-- Who made a timeline step, submitted or screened is a resource name
-- (`people/{id}`, or a body: `organizations/`, `groups/`, `posts/{id}`) from
-- this release on: a typed name would be personal data that ErasePerson
-- cannot reach. Typed names recorded before are cleared (left empty), and the
-- columns are indexed for FindPersonReferences. Running it again changes
-- nothing. (sqlite/0005_actors.sql is the same in SQLite's JSON.)
UPDATE initiative_events SET actor = ''
WHERE actor <> '' AND actor !~ '^(people|organizations|groups|posts)/';
UPDATE submissions SET submitted_by = ''
WHERE submitted_by <> '' AND submitted_by !~ '^(people|organizations|groups|posts)/';
UPDATE submissions SET screening = jsonb_set(screening::jsonb, '{decided_by}', '""')::text
WHERE screening IS NOT NULL AND screening::jsonb ->> 'decided_by' <> ''
  AND screening::jsonb ->> 'decided_by' !~ '^(people|organizations|groups|posts)/';
CREATE INDEX IF NOT EXISTS initiative_events_actor ON initiative_events (actor);
CREATE INDEX IF NOT EXISTS submissions_submitted_by ON submissions (submitted_by);
