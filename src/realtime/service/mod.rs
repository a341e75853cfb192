//! The rules of the realtime domain: notices (written inside the caller's transaction and announced when it
//! commits), cursors, acknowledgement, and security incidents (in [`incidents`]).

mod checks;
pub mod dispatch;
mod incidents;

pub use incidents::*;

use std::collections::HashMap;
use std::sync::Arc;

use diesel_async::AsyncPgConnection;

use super::feed::ACCOUNT_TOPIC;
pub use super::feed::Feed;
pub use super::model::{NewNotice, NoticeKind};
use super::model::{Notice, NotificationRow};
use super::store;
use crate::db::Pool;
use crate::error::{AppError, AppResult};

/// The longest notice title.
pub const MAX_TITLE_CHARS: usize = 300;

/// A notice title has 1 to [`MAX_TITLE_CHARS`] characters.
fn check_title(title: &str) -> AppResult<()> {
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(AppError::bad_input(
            "title",
            format!("a notice title has 1 to {MAX_TITLE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Writes a notice to one account inside the caller's transaction (`conn`), and announces it on the broker;
/// subscribers hear of it when the transaction commits, and not at all when it rolls back. Returns its id.
pub async fn post_notice(conn: &mut AsyncPgConnection, notice: &NewNotice) -> AppResult<i64> {
    check_title(&notice.title)?;
    let id = store::insert_notice(conn, notice).await?;
    store::notify(conn, ACCOUNT_TOPIC, notice.account_id).await?;
    Ok(id)
}

/// Writes the same notice to every account inside the caller's transaction (one statement) and wakes every
/// subscription when it commits. `account_id` of `notice` is ignored. Returns how many accounts were told.
pub async fn post_notice_to_everyone(
    conn: &mut AsyncPgConnection,
    notice: &NewNotice,
) -> AppResult<usize> {
    check_title(&notice.title)?;
    let written = store::insert_notice_for_everyone(
        conn,
        notice.kind.as_str(),
        &notice.title,
        &notice.body,
        &notice.refs,
    )
    .await?;
    store::notify(conn, super::feed::EVERYONE_TOPIC, 0).await?;
    Ok(written)
}

/// The opaque cursor of notice `id` (subscriptions resume after it; connections page from it).
pub fn cursor(id: i64) -> String {
    crate::graphql::cursor::encode(CURSOR_TAG, &[&id])
}

const CURSOR_TAG: &str = "NotificationCursor";

/// The notice id inside a cursor made by [`cursor`]; anything else is `BAD_USER_INPUT` on `field`.
pub fn parse_cursor(cursor: &str, field: &str) -> AppResult<i64> {
    let bad = || AppError::bad_input(field, "not a notification cursor");
    let [id] = crate::graphql::cursor::decode(cursor, CURSOR_TAG).ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    if id < 0 {
        return Err(bad());
    }
    Ok(id)
}

/// Attaches the incidents notices mention (one query for all of them); keeps the order of `rows`.
pub async fn with_incidents(
    conn: &mut AsyncPgConnection,
    rows: Vec<NotificationRow>,
) -> AppResult<Vec<Notice>> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.incident_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let incidents: HashMap<i64, Arc<_>> = store::incidents_by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|i| (i.id, Arc::new(i)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| Notice {
            incident: row.incident_id.and_then(|id| incidents.get(&id).cloned()),
            row,
        })
        .collect())
}

/// One page of an account's notices, newest first: up to `first` notices older than the cursor `after`, and
/// whether more follow.
pub async fn notifications_page(
    pool: &Pool,
    account_id: i64,
    first: usize,
    after: Option<i64>,
    unacknowledged_only: bool,
) -> AppResult<(Vec<Notice>, bool)> {
    let mut conn = pool.get().await?;
    let mut rows = store::page(
        &mut conn,
        account_id,
        after,
        unacknowledged_only,
        first as i64 + 1,
    )
    .await?;
    let more = rows.len() > first;
    rows.truncate(first);
    Ok((with_incidents(&mut conn, rows).await?, more))
}

/// One notice of an account; `None` when it does not exist or belongs to someone else.
pub async fn notification(pool: &Pool, account_id: i64, id: i64) -> AppResult<Option<Notice>> {
    let mut conn = pool.get().await?;
    let Some(row) = store::notice_of(&mut conn, account_id, id).await? else {
        return Ok(None);
    };
    Ok(with_incidents(&mut conn, vec![row]).await?.pop())
}

/// Acknowledges a notice of the account; someone else's (or a missing one) is `NOT_FOUND`.
pub async fn acknowledge(pool: &Pool, account_id: i64, id: i64) -> AppResult<Notice> {
    let mut conn = pool.get().await?;
    let row = store::acknowledge(&mut conn, account_id, id)
        .await?
        .ok_or_else(|| AppError::NotFound("notification".into()))?;
    with_incidents(&mut conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::NotFound("notification".into()))
}

/// Erases an account's notices when the account is erased, in the caller's transaction; returns how many went.
/// Security-incident notices stay: they hold only the incident's public text and when the notice was delivered
/// and acknowledged, and they are the record `incidentReport` gives the regulator of who was told and when.
pub async fn erase_account_notices(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> AppResult<usize> {
    Ok(store::delete_personal_notices(conn, account_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(parse_cursor(&cursor(42), "after").unwrap(), 42);
        for bad in [
            "",
            "!!",
            "bm90IGEgY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("NotificationCursor:x"),
            &URL_SAFE_NO_PAD.encode("NotificationCursor:-1"),
            &URL_SAFE_NO_PAD.encode("Work:1"),
        ] {
            assert!(
                matches!(
                    parse_cursor(bad, "after"),
                    Err(AppError::BadUserInput { .. })
                ),
                "{bad}"
            );
        }
    }
}

#[cfg(test)]
mod props {
    //! Property tests: notification cursors round-trip for every id and any other input is a clean
    //! `BAD_USER_INPUT`, never a panic.

    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn assert_clean(result: AppResult<i64>) -> Result<(), TestCaseError> {
        match result {
            Ok(id) => prop_assert!(id >= 0),
            Err(AppError::BadUserInput { field, .. }) => {
                prop_assert_eq!(field.as_deref(), Some("after"))
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn cursors_round_trip(id in 0..=i64::MAX) {
            prop_assert_eq!(parse_cursor(&cursor(id), "after").unwrap(), id);
        }

        #[test]
        fn negative_ids_are_refused(id in i64::MIN..0) {
            prop_assert!(parse_cursor(&cursor(id), "after").is_err());
        }

        #[test]
        fn arbitrary_strings_parse_cleanly(s in any::<String>()) {
            assert_clean(parse_cursor(&s, "after"))?;
        }

        #[test]
        fn arbitrary_texts_behind_base64_parse_cleanly(text in "(NotificationCursor:)?[-+0-9a-z]{0,25}|\\PC{0,70}") {
            assert_clean(parse_cursor(&URL_SAFE_NO_PAD.encode(&text), "after"))?;
        }
    }
}
