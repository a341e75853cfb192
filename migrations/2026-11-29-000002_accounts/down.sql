DROP TABLE outbox_messages;
DROP TABLE consent_records;
DROP TABLE security_events;
DROP TABLE oauth_states;
DROP TABLE third_party_bindings;
DROP TABLE login_failures;
DROP TABLE verification_codes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE profiles;
ALTER TABLE accounts
    DROP COLUMN phone_ciphertext, DROP COLUMN phone_index, DROP COLUMN email_ciphertext, DROP COLUMN email_index,
    DROP COLUMN email_verified_at, DROP COLUMN password_hash, DROP COLUMN password_changed_at, DROP COLUMN gender,
    DROP COLUMN occupation, DROP COLUMN city, DROP COLUMN adult_confirmed_at, DROP COLUMN status;
