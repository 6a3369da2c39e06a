-- Who decided a membership step or a post assignment is a resource name
-- (`people/{id}`, or a body: `organizations/`, `groups/`, `posts/{id}`) from
-- this release on: a typed name would be personal data that ErasePerson
-- cannot reach. Typed names recorded before are cleared (left empty), and the
-- columns are indexed for FindPersonReferences. Written in the SQL both
-- SQLite and PostgreSQL accept; running it again changes nothing.
UPDATE membership_events SET decided_by = ''
WHERE decided_by <> '' AND decided_by NOT LIKE 'people/%' AND decided_by NOT LIKE 'organizations/%'
  AND decided_by NOT LIKE 'groups/%' AND decided_by NOT LIKE 'posts/%';
UPDATE post_holdings SET decided_by = ''
WHERE decided_by <> '' AND decided_by NOT LIKE 'people/%' AND decided_by NOT LIKE 'organizations/%'
  AND decided_by NOT LIKE 'groups/%' AND decided_by NOT LIKE 'posts/%';
CREATE INDEX IF NOT EXISTS membership_events_decided_by ON membership_events (decided_by);
CREATE INDEX IF NOT EXISTS post_holdings_decided_by ON post_holdings (decided_by);
CREATE INDEX IF NOT EXISTS post_holdings_person ON post_holdings (person_id);
