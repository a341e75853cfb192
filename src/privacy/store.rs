//! Queries of the privacy domain.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::model::{PolicyVersion, Purpose};
use crate::db::schema::{policy_purposes, policy_versions};

pub async fn current_version(conn: &mut AsyncPgConnection) -> QueryResult<Option<PolicyVersion>> {
    policy_versions::table
        .order((
            policy_versions::published_at.desc(),
            policy_versions::id.desc(),
        ))
        .select(PolicyVersion::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn version_by_name(
    conn: &mut AsyncPgConnection,
    version: &str,
) -> QueryResult<Option<PolicyVersion>> {
    policy_versions::table
        .filter(policy_versions::version.eq(version))
        .select(PolicyVersion::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn purposes_of(
    conn: &mut AsyncPgConnection,
    version_id: i64,
) -> QueryResult<Vec<Purpose>> {
    policy_purposes::table
        .filter(policy_purposes::policy_version_id.eq(version_id))
        .order(policy_purposes::position.asc())
        .select(Purpose::as_select())
        .load(conn)
        .await
}
