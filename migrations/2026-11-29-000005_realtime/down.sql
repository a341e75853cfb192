DROP TRIGGER notifications_in_commit_order ON notifications;
DROP FUNCTION notifications_in_commit_order();
DROP TABLE notifications;
DROP TABLE incident_updates;
DROP TABLE incidents;
