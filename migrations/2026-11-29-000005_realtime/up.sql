-- Realtime: security incidents and the notifications every account receives (incident notices, account-security
-- notices, social notices and announcements), with delivery and acknowledgement tracking.

-- A security incident declared by staff (privacy policy 5.4): what happened and what it means for the people
-- affected, in the terms PIPL Art. 57 and GDPR Art. 33-34 ask a notice to carry.
CREATE TABLE incidents (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title             TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description       TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'updated', 'resolved')),
    data_categories   TEXT[] NOT NULL DEFAULT '{}',
    cause             TEXT NOT NULL,
    possible_harm     TEXT NOT NULL,
    remedial_measures TEXT NOT NULL,
    user_actions      TEXT NOT NULL,
    contact           TEXT NOT NULL,
    -- Who is affected, as declared: {"all": true}, {"accountIds": [...]} or {"dataCategories": [...]}.
    scope             JSONB NOT NULL,
    -- Whether the incident is published as a public security announcement.
    announced         BOOLEAN NOT NULL DEFAULT true,
    declared_by       BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    declared_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at       TIMESTAMPTZ,
    resolution_note   TEXT,
    -- The accounts notified at declaration (the audience is fixed then; updates go to the same accounts).
    affected_count    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incidents_announced ON incidents (id DESC) WHERE announced;

-- The history of an incident: its declaration, each update and its resolution. Every entry notifies the
-- affected accounts once.
CREATE TABLE incident_updates (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event       TEXT NOT NULL CHECK (event IN ('declared', 'updated', 'resolved')),
    note        TEXT NOT NULL DEFAULT '',
    changes     JSONB NOT NULL DEFAULT '{}',
    by_account  BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id);

-- Notices to one account. `id` is the cursor subscriptions resume from: for any one reader, ids become visible
-- in increasing order (see the trigger below), so "everything after the last id I saw" never skips a row.
CREATE TABLE notifications (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind               TEXT NOT NULL
        CHECK (kind IN ('security_incident', 'account_security', 'social', 'announcement')),
    title              TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 300),
    body               TEXT NOT NULL,
    incident_id        BIGINT REFERENCES incidents (id) ON DELETE CASCADE,
    incident_update_id BIGINT REFERENCES incident_updates (id) ON DELETE CASCADE,
    refs               JSONB NOT NULL DEFAULT '{}',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the notice first went out on a WebSocket.
    delivered_at       TIMESTAMPTZ,
    acknowledged_at    TIMESTAMPTZ
);
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE INDEX notifications_incident ON notifications (incident_update_id, account_id)
    WHERE incident_update_id IS NOT NULL;

-- Identity values are handed out when a row is inserted but become visible when its transaction commits, so two
-- concurrent writers could commit ids 11 then 10, and a reader that already moved past 11 would never see 10.
-- Every statement inserting notices therefore first takes one transaction-scoped advisory lock: writers of notices
-- commit one after another, in id order, and a visible id means every smaller id is visible (or rolled back).
CREATE FUNCTION notifications_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7346201);
    RETURN NULL;
END;
$$;
CREATE TRIGGER notifications_in_commit_order
    BEFORE INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_in_commit_order();
