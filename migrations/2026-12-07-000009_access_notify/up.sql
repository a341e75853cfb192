-- Every change that can take access away from an account announces `access:<account id>` when it commits, so
-- each gateway re-checks the sockets of that account and closes those that lost it (4403): a session revoked
-- (sign-out, revocation, password change or reset), an account erased or its status changed.

CREATE FUNCTION notify_access_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portico', 'access:' || NEW.account_id);
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_access_lost AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION notify_access_session();

CREATE FUNCTION notify_access_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portico', 'access:' || NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER accounts_access_changed AFTER UPDATE OF status, role ON accounts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION notify_access_account();
