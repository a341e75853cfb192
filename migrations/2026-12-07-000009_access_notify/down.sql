DROP TRIGGER accounts_access_changed ON accounts;
DROP FUNCTION notify_access_account();
DROP TRIGGER sessions_access_lost ON sessions;
DROP FUNCTION notify_access_session();
