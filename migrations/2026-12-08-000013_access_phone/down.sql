DROP TRIGGER accounts_access_changed ON accounts;
CREATE TRIGGER accounts_access_changed AFTER UPDATE OF status, role, suspended_at ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role
                       OR OLD.suspended_at IS DISTINCT FROM NEW.suspended_at)
    EXECUTE FUNCTION notify_access_account();
