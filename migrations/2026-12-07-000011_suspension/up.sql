-- Staff may suspend an account (abuse, a compromised account): its sessions end, its sockets close (4403), and it
-- cannot sign in until reinstated. Kept apart from `status`, so a pending cancellation survives a suspension.
ALTER TABLE accounts ADD COLUMN suspended_at TIMESTAMPTZ, ADD COLUMN suspension_reason TEXT;

DROP TRIGGER accounts_access_changed ON accounts;
CREATE TRIGGER accounts_access_changed AFTER UPDATE OF status, role, suspended_at ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role
                       OR OLD.suspended_at IS DISTINCT FROM NEW.suspended_at)
    EXECUTE FUNCTION notify_access_account();
