DROP TABLE incident_dispatches;
DROP INDEX outbox_messages_notification;
ALTER TABLE outbox_messages DROP COLUMN notification_id;
