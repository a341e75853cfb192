ALTER TABLE oauth_states DROP COLUMN consents, DROP COLUMN policy_version;
