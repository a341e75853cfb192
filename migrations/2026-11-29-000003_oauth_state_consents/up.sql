-- The consents given when a third-party sign-in starts travel with its state, so an account created at
-- completion records them (and reads the provider's profile only with consent to `third-party-profile`).
ALTER TABLE oauth_states
    ADD COLUMN consents       TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN policy_version TEXT;
