//! The SMS and email side of high and critical incidents, for the domain that holds the phone numbers and
//! addresses (`accounts::incident_messages`): which stage is due, its notices in batches of accounts, and how
//! far the dispatch got. Each runs on the caller's connection, inside its transaction.

use diesel_async::AsyncPgConnection;

use crate::error::AppResult;
use crate::realtime::store;

pub use crate::realtime::store::{DispatchNotice, PendingDispatch};

/// A stage whose messages are still to be queued, locked until the caller's transaction ends.
pub async fn claim(conn: &mut AsyncPgConnection) -> AppResult<Option<PendingDispatch>> {
    Ok(store::claim_dispatch(conn).await?)
}

/// The stage's notices to accounts after `after`, by account id, at most `limit`.
pub async fn batch(
    conn: &mut AsyncPgConnection,
    pending: &PendingDispatch,
    limit: i64,
) -> AppResult<Vec<DispatchNotice>> {
    Ok(store::dispatch_batch(conn, pending.update_id, pending.after_account, limit).await?)
}

/// Records that the accounts up to `after` were dispatched, and whether the stage is done.
pub async fn advance(
    conn: &mut AsyncPgConnection,
    pending: &PendingDispatch,
    after: i64,
    done: bool,
) -> AppResult<()> {
    Ok(store::advance_dispatch(conn, pending.update_id, after, done).await?)
}
