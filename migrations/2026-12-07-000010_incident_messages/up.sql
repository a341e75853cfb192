-- High and critical incidents also reach every affected account by SMS and email, through the outbox. A
-- dispatch row, written with the stage's notices, is worked through in batches by the accounts' dispatcher.

ALTER TABLE outbox_messages
    ADD COLUMN notification_id BIGINT REFERENCES notifications (id) ON DELETE SET NULL;
CREATE INDEX outbox_messages_notification ON outbox_messages (notification_id)
    WHERE notification_id IS NOT NULL;

CREATE TABLE incident_dispatches (
    update_id BIGINT PRIMARY KEY REFERENCES incident_updates (id) ON DELETE CASCADE,
    -- The accounts up to this id have had their messages queued.
    after_account BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at TIMESTAMPTZ
);
CREATE INDEX incident_dispatches_pending ON incident_dispatches (update_id) WHERE done_at IS NULL;
