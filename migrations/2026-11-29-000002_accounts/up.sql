-- Accounts and sign-in. Personal data (phone, email, contact) is stored encrypted (AES-256-GCM, key id inside
-- the ciphertext) and looked up through HMAC blind indexes; no plaintext phone or email is ever written.

ALTER TABLE accounts
    ADD COLUMN phone_ciphertext   BYTEA,
    ADD COLUMN phone_index        BYTEA UNIQUE,
    ADD COLUMN email_ciphertext   BYTEA,
    ADD COLUMN email_index        BYTEA UNIQUE,
    ADD COLUMN email_verified_at  TIMESTAMPTZ,
    ADD COLUMN password_hash      TEXT,
    ADD COLUMN password_changed_at TIMESTAMPTZ,
    ADD COLUMN gender             TEXT NOT NULL DEFAULT 'undisclosed'
        CHECK (gender IN ('female', 'male', 'other', 'undisclosed')),
    ADD COLUMN occupation         TEXT NOT NULL DEFAULT '',
    ADD COLUMN city               TEXT NOT NULL DEFAULT '',
    ADD COLUMN adult_confirmed_at TIMESTAMPTZ,
    ADD COLUMN status             TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'cancelling', 'erased'));

-- The optional profile (policy 1.1(2)), one row per account; `private_fields` lists the fields only the owner sees.
CREATE TABLE profiles (
    account_id         BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    avatar_url         TEXT,
    hometown           TEXT,
    signature          TEXT,
    bio                TEXT,
    education          TEXT,
    contact_ciphertext BYTEA,
    link               TEXT,
    equipment          TEXT,
    labels             TEXT[] NOT NULL DEFAULT '{}',
    private_fields     TEXT[] NOT NULL DEFAULT '{}',
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per sign-in. Revoking a session stops its access tokens at once (they carry the session id).
CREATE TABLE sessions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id        BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device            TEXT NOT NULL DEFAULT '',
    user_agent        TEXT NOT NULL DEFAULT '',
    client_addr_hash  BYTEA,
    method            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at        TIMESTAMPTZ,
    revoked_reason    TEXT
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored hashed; each use rotates to a new one, and a reuse revokes the whole session (family).
CREATE TABLE refresh_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Verification codes, stored hashed, addressed by the destination's blind index.
CREATE TABLE verification_codes (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel           TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    destination_index BYTEA NOT NULL,
    purpose           TEXT NOT NULL
        CHECK (purpose IN ('register', 'login', 'reset_password', 'bind_email', 'cancel_account')),
    code_hash         BYTEA NOT NULL,
    client_addr_hash  BYTEA,
    attempts          INT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at        TIMESTAMPTZ NOT NULL,
    consumed_at       TIMESTAMPTZ
);
CREATE INDEX verification_codes_destination ON verification_codes (destination_index, purpose, created_at DESC);
CREATE INDEX verification_codes_client ON verification_codes (client_addr_hash, created_at DESC);

-- Sign-in failures, per account and per client address, for slowing down and locking.
CREATE TABLE login_failures (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_subject ON login_failures (subject, created_at DESC);

-- WeChat, Weibo and QQ accounts bound to a Portico account.
CREATE TABLE third_party_bindings (
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider    TEXT NOT NULL CHECK (provider IN ('wechat', 'weibo', 'qq')),
    subject     TEXT NOT NULL,
    union_id    TEXT,
    nickname    TEXT,
    avatar_url  TEXT,
    gender      TEXT,
    bound_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, provider),
    UNIQUE (provider, subject)
);

-- Single-use OAuth `state` values (stored hashed).
CREATE TABLE oauth_states (
    state_hash   BYTEA PRIMARY KEY,
    provider     TEXT NOT NULL,
    purpose      TEXT NOT NULL CHECK (purpose IN ('login', 'bind')),
    account_id   BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);

-- Security events per account (sign-in, failures, new device, password and binding changes, revocations).
CREATE TABLE security_events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    detail           JSONB NOT NULL DEFAULT '{}',
    client_addr_hash BYTEA,
    user_agent       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX security_events_account ON security_events (account_id, id DESC);

-- The consent ledger: append-only, one row per grant or withdrawal.
CREATE TABLE consent_records (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose            TEXT NOT NULL,
    partner_id         BIGINT,
    policy_version_id  BIGINT NOT NULL REFERENCES policy_versions (id),
    granted            BOOLEAN NOT NULL,
    method             TEXT NOT NULL,
    client_addr_hash   BYTEA,
    user_agent_hash    BYTEA,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX consent_records_account ON consent_records (account_id, purpose, id DESC);

-- Messages waiting for delivery (SMS and email), encrypted, retried with backoff until sent.
CREATE TABLE outbox_messages (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel            TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    payload_ciphertext BYTEA NOT NULL,
    attempts           INT NOT NULL DEFAULT 0,
    next_attempt_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error         TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at            TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox_messages (next_attempt_at) WHERE sent_at IS NULL;
