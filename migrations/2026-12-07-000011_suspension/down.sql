DROP TRIGGER accounts_access_changed ON accounts;
CREATE TRIGGER accounts_access_changed AFTER UPDATE OF status, role ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION notify_access_account();
ALTER TABLE accounts DROP COLUMN suspension_reason, DROP COLUMN suspended_at;
