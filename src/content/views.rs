//! Page views and clicks (privacy policy 2.2): counted only with consent to `analytics` (members: the consent
//! ledger; visitors: the consent cookie the web client sets), stored without any identity (what, which, when),
//! and rolled up into the works' and articles' counters by a background task.

use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;

use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::graphql::ids;

/// The cookie in which the web client keeps a visitor's consent: purpose keys separated by commas.
pub const CONSENT_COOKIE: &str = "portico_consent";
/// The purpose that allows counting.
pub const ANALYTICS: &str = "analytics";
/// How often the rollup runs.
pub const ROLLUP_EVERY: Duration = Duration::from_secs(5);
/// Events moved per rollup statement.
const ROLLUP_BATCH: i64 = 10_000;

/// A view or a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    View,
    Click,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Click => "click",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        match s.to_ascii_lowercase().as_str() {
            "view" => Some(EventKind::View),
            "click" => Some(EventKind::Click),
            _ => None,
        }
    }
}

/// What was viewed or clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Work(i64),
    Article(i64),
}

impl Target {
    /// A `Work` or `Article` global id; another kind is `NOT_FOUND`, a malformed id `BAD_USER_INPUT`.
    pub fn parse(id: &str) -> AppResult<Target> {
        let (kind, key) =
            ids::decode(id).ok_or_else(|| AppError::bad_input("target", "not a valid id"))?;
        let key = key
            .parse()
            .map_err(|_| AppError::bad_input("target", "not a valid id"))?;
        match kind.as_str() {
            "Work" => Ok(Target::Work(key)),
            "Article" => Ok(Target::Article(key)),
            _ => Err(AppError::NotFound("work or article".into())),
        }
    }
}

/// Who asks for the count, as far as consent goes (never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// A signed-in member: their consent ledger decides.
    Member(i64),
    /// A visitor: whether their consent cookie grants `analytics`.
    Visitor { cookie_consent: bool },
}

/// A visitor's consent cookie, as the HTTP layer read it (request data of the GraphQL executor).
#[derive(Debug, Clone, Copy, Default)]
pub struct CookieConsent {
    pub analytics: bool,
}

impl CookieConsent {
    /// Reads the value of the consent cookie (`analytics,preferences-cookies`, possibly percent-encoded).
    pub fn from_cookie(value: Option<&str>) -> CookieConsent {
        let analytics = value.is_some_and(|v| {
            v.replace("%2C", ",")
                .replace("%2c", ",")
                .split(',')
                .any(|p| p.trim().trim_matches('"') == ANALYTICS)
        });
        CookieConsent { analytics }
    }
}

/// Records one event when the target is a published work or article and the requester consented to
/// `analytics`. Returns whether it was counted; an unknown target is `NOT_FOUND`.
pub async fn record(
    pool: &Pool,
    target: Target,
    kind: EventKind,
    who: Requester,
) -> AppResult<bool> {
    let mut conn = pool.get().await?;
    let consent = match who {
        Requester::Member(account_id) => {
            crate::privacy::service::has_consent(&mut conn, account_id, ANALYTICS).await?
        }
        Requester::Visitor { cookie_consent } => cookie_consent,
    };
    let (found, counted) = insert(&mut conn, target, kind, consent).await?;
    if !found {
        return Err(AppError::NotFound("work or article".into()));
    }
    Ok(counted)
}

#[derive(diesel::QueryableByName)]
struct Outcome {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    counted: bool,
}

/// Checks the target and (with consent) inserts the event, in one statement: (target found, event stored).
async fn insert(
    conn: &mut AsyncPgConnection,
    target: Target,
    kind: EventKind,
    consent: bool,
) -> AppResult<(bool, bool)> {
    let (table, target_kind, id) = match target {
        Target::Work(id) => ("works", "work", id),
        Target::Article(id) => ("articles", "article", id),
    };
    let o: Outcome = diesel::sql_query(format!(
        "WITH t AS (SELECT id FROM {table} WHERE id = $1 AND published_at IS NOT NULL AND deleted_at IS NULL), \
              ins AS (INSERT INTO view_events (target_kind, target_id, kind) \
                      SELECT $2, t.id, $3 FROM t WHERE $4 RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM t) AS found, EXISTS (SELECT 1 FROM ins) AS counted"
    ))
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(target_kind)
    .bind::<Text, _>(kind.as_str())
    .bind::<diesel::sql_types::Bool, _>(consent)
    .get_result(conn)
    .await?;
    Ok((o.found, o.counted))
}

#[derive(diesel::QueryableByName)]
struct Moved {
    #[diesel(sql_type = BigInt)]
    moved: i64,
}

/// Moves pending events into the counters (`view_count`, `click_count`) and deletes them, a batch per
/// statement (each statement is its own transaction; rows another instance is moving are skipped, so
/// nothing is counted twice). Returns how many events were moved.
pub async fn rollup_views(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let mut total = 0usize;
    loop {
        let m: Moved = diesel::sql_query(
            "WITH moved AS ( \
               DELETE FROM view_events WHERE id IN \
                 (SELECT id FROM view_events ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
               RETURNING target_kind, target_id, kind), \
             counts AS ( \
               SELECT target_kind, target_id, count(*) FILTER (WHERE kind = 'view') AS views, \
                      count(*) FILTER (WHERE kind = 'click') AS clicks \
               FROM moved GROUP BY target_kind, target_id), \
             w AS (UPDATE works SET view_count = view_count + c.views, click_count = click_count + c.clicks \
                   FROM counts c WHERE c.target_kind = 'work' AND works.id = c.target_id RETURNING 1), \
             a AS (UPDATE articles SET view_count = view_count + c.views, click_count = click_count + c.clicks \
                   FROM counts c WHERE c.target_kind = 'article' AND articles.id = c.target_id RETURNING 1) \
             SELECT count(*) AS moved FROM moved",
        )
        .bind::<BigInt, _>(ROLLUP_BATCH)
        .get_result(&mut conn)
        .await?;
        total += m.moved as usize;
        if m.moved < ROLLUP_BATCH {
            return Ok(total);
        }
    }
}

/// Runs [`rollup_views`] every [`ROLLUP_EVERY`] until `shutdown`, then once more.
pub fn start_rollup(pool: Pool, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let stop = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = tokio::time::sleep(ROLLUP_EVERY) => false,
            };
            match rollup_views(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(events = n, "rolled up views and clicks"),
                Err(e) => tracing::warn!(error = %e, "rolling up views and clicks failed"),
            }
            if stop {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_cookie() {
        assert!(CookieConsent::from_cookie(Some("preferences-cookies,analytics")).analytics);
        assert!(CookieConsent::from_cookie(Some("analytics%2Cstatistics")).analytics);
        assert!(!CookieConsent::from_cookie(Some("statistics,partner-analytics")).analytics);
        assert!(!CookieConsent::from_cookie(None).analytics);
    }

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse(&ids::encode("Work", 3)).unwrap(),
            Target::Work(3)
        );
        assert_eq!(
            Target::parse(&ids::encode("Article", 4)).unwrap(),
            Target::Article(4)
        );
        assert!(matches!(
            Target::parse(&ids::encode("User", 1)),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            Target::parse("@@"),
            Err(AppError::BadUserInput { .. })
        ));
    }
}
