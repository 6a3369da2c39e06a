-- The filter's initiative lists (JSON arrays): countries and organisations.
ALTER TABLE subscriptions ADD COLUMN initiative_countries TEXT NOT NULL DEFAULT '[]';
ALTER TABLE subscriptions ADD COLUMN initiative_organizations TEXT NOT NULL DEFAULT '[]';
