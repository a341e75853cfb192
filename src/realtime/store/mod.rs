//! Queries of the realtime domain.

mod dispatch;
mod incidents;
mod notices;

pub use dispatch::*;
pub use incidents::*;
pub use notices::*;

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::broker::notify_sql;

/// Announces `topic:id` on the broker's channel; inside a transaction it goes out when the transaction commits.
pub async fn notify(conn: &mut AsyncPgConnection, topic: &str, id: i64) -> diesel::QueryResult<()> {
    diesel::sql_query(notify_sql(topic, id))
        .execute(conn)
        .await?;
    Ok(())
}
