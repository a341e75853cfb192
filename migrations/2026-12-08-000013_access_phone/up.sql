-- A phone bound or changed is an access change too: a remembered session check carries whether the account
-- has a phone (src/accounts/live_sessions.rs), so every instance forgets it when `access:<id>` is announced.
DROP TRIGGER accounts_access_changed ON accounts;
CREATE TRIGGER accounts_access_changed AFTER UPDATE OF status, role, suspended_at, phone_index ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role
                       OR OLD.suspended_at IS DISTINCT FROM NEW.suspended_at
                       OR OLD.phone_index IS DISTINCT FROM NEW.phone_index)
    EXECUTE FUNCTION notify_access_account();
