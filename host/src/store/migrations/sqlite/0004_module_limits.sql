-- Schema version 4: what a module's manifest says it needs ([limits]), as
-- JSON, so every deployment of it (by any replica, at any time) is checked
-- against the organisation's limits. None for a bundled module.
ALTER TABLE modules ADD COLUMN requested_limits TEXT;
