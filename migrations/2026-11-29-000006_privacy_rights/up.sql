-- Privacy rights: partners and their tokens, disclosures, the staff-access audit, data exports, account
-- cancellation, and a consent ledger that survives erasure only in pseudonymised form.

-- Partners (policy 4.1(4)): who may receive data, for which purposes and which categories.
CREATE TABLE partners (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT NOT NULL CHECK (char_length(name) BETWEEN 2 AND 80),
    kind            TEXT NOT NULL CHECK (kind IN ('advertising', 'business', 'payment', 'analytics')),
    contact         TEXT NOT NULL,
    purposes        TEXT[] NOT NULL,
    data_categories TEXT[] NOT NULL,
    registered_by   BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    suspended_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX partners_name_lower ON partners (lower(name));

-- Scoped partner tokens, stored only as a hash.
CREATE TABLE partner_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id   BIGINT NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    scopes       TEXT[] NOT NULL,
    issued_by    BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX partner_tokens_partner ON partner_tokens (partner_id);

-- Consent to a partner purpose names the partner (PIPL Art. 23).
ALTER TABLE consent_records
    ADD CONSTRAINT consent_records_partner FOREIGN KEY (partner_id) REFERENCES partners (id);
CREATE INDEX consent_records_partner_latest
    ON consent_records (partner_id, purpose, account_id, id DESC) WHERE partner_id IS NOT NULL;

-- Erasure keeps only a pseudonymised consent record: the account link goes, a keyed pseudonym stays.
ALTER TABLE consent_records
    ALTER COLUMN account_id DROP NOT NULL,
    ADD COLUMN subject_pseudonym BYTEA;

-- The ledger is append-only: no deletes, and the only update allowed is the pseudonymisation above.
CREATE FUNCTION consent_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the consent ledger is append-only';
    END IF;
    IF NEW.account_id IS NOT NULL
       OR NEW.subject_pseudonym IS NULL
       OR (NEW.id, NEW.purpose, NEW.partner_id, NEW.policy_version_id, NEW.granted, NEW.method, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.purpose, OLD.partner_id, OLD.policy_version_id, OLD.granted, OLD.method, OLD.created_at)
    THEN
        RAISE EXCEPTION 'the consent ledger is append-only (only pseudonymisation on erasure may update it)';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER consent_records_append_only
    BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION consent_records_append_only();

-- Every disclosure of a user's data to a partner; the user sees these in `Me.disclosures`.
CREATE TABLE disclosures (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    partner_id      BIGINT NOT NULL REFERENCES partners (id),
    token_id        BIGINT REFERENCES partner_tokens (id) ON DELETE SET NULL,
    purpose         TEXT NOT NULL,
    data_categories TEXT[] NOT NULL,
    disclosed_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX disclosures_account ON disclosures (account_id, id DESC);

-- Every staff read of another account's personal data, with its stated reason; the user sees these.
CREATE TABLE staff_access_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id    BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    account_id  BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    reason      TEXT NOT NULL CHECK (char_length(reason) BETWEEN 10 AND 500),
    fields      TEXT[] NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX staff_access_log_account ON staff_access_log (account_id, id DESC);

-- Data exports: built by a background job, sealed at rest, downloadable through a signed expiring link.
CREATE TABLE data_exports (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    archive_ciphertext BYTEA,
    attempts           INT NOT NULL DEFAULT 0,
    last_error         TEXT,
    requested_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    ready_at           TIMESTAMPTZ,
    expires_at         TIMESTAMPTZ
);
CREATE UNIQUE INDEX data_exports_one_pending ON data_exports (account_id) WHERE status = 'pending';

-- Account cancellation: a cooling-off period, then erasure by a background job in one transaction.
CREATE TABLE account_cancellations (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    content       TEXT NOT NULL CHECK (content IN ('delete', 'anonymise')),
    requested_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    scheduled_for TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    erased_at     TIMESTAMPTZ,
    attempts      INT NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE UNIQUE INDEX account_cancellations_one_open
    ON account_cancellations (account_id) WHERE revoked_at IS NULL AND erased_at IS NULL;
CREATE INDEX account_cancellations_due
    ON account_cancellations (scheduled_for) WHERE revoked_at IS NULL AND erased_at IS NULL;
