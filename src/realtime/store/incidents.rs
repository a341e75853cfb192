//! Queries on incidents, their history, and the set-based writing of their notices.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::notices::Written;
use crate::db::schema::{incident_updates as iu, incidents as i};
use crate::realtime::devices::store::FAN_OUT_CTE;
use crate::realtime::model::{
    IncidentChanges, IncidentContent, IncidentRow, Severity, StageFigures,
};

fn array(values: &[String]) -> Vec<Option<String>> {
    values.iter().cloned().map(Some).collect()
}

/// Writes a new incident (status `open`, nobody counted yet).
pub async fn insert_incident(
    conn: &mut AsyncPgConnection,
    content: &IncidentContent,
    scope: &serde_json::Value,
    announced: bool,
    declared_by: i64,
) -> QueryResult<IncidentRow> {
    diesel::insert_into(i::table)
        .values((
            i::title.eq(&content.title),
            i::description.eq(&content.description),
            i::severity.eq(content.severity),
            i::data_categories.eq(array(&content.data_categories)),
            i::cause.eq(&content.cause),
            i::possible_harm.eq(&content.possible_harm),
            i::remedial_measures.eq(&content.remedial_measures),
            i::user_actions.eq(&content.user_actions),
            i::contact.eq(&content.contact),
            i::scope.eq(scope),
            i::announced.eq(announced),
            i::declared_by.eq(declared_by),
        ))
        .returning(IncidentRow::as_returning())
        .get_result(conn)
        .await
}

/// Adds an entry to an incident's history; returns its id.
pub async fn insert_update(
    conn: &mut AsyncPgConnection,
    incident_id: i64,
    event: &str,
    note: &str,
    changes: serde_json::Value,
    by: i64,
) -> QueryResult<i64> {
    diesel::insert_into(iu::table)
        .values((
            iu::incident_id.eq(incident_id),
            iu::event.eq(event),
            iu::note.eq(note),
            iu::changes.eq(changes),
            iu::by_account.eq(by),
        ))
        .returning(iu::id)
        .get_result(conn)
        .await
}

/// The text of one incident notice, shared by every recipient.
pub struct IncidentNotice<'a> {
    pub incident_id: i64,
    pub update_id: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub refs: serde_json::Value,
}

/// Writes the notice for every account `audience` selects, in one statement; returns how many were written.
/// `audience` is a query returning account ids (`id`); when `ids` is given it reads them from bind `$6`.
pub async fn insert_audience_notices(
    conn: &mut AsyncPgConnection,
    audience: &str,
    ids: Option<Vec<i64>>,
    notice: &IncidentNotice<'_>,
) -> QueryResult<usize> {
    let query = diesel::sql_query(format!(
        "WITH ins AS (INSERT INTO notifications \
             (account_id, kind, title, body, incident_id, incident_update_id, refs) \
             SELECT aud.id, 'security_incident', $1, $2, $3, $4, $5 FROM ({audience}) aud ORDER BY aud.id \
             RETURNING id, account_id, kind), {FAN_OUT_CTE} \
         SELECT count(*) AS written FROM ins"
    ))
    .into_boxed()
    .bind::<Text, _>(notice.title.to_string())
    .bind::<Text, _>(notice.body.to_string())
    .bind::<BigInt, _>(notice.incident_id)
    .bind::<BigInt, _>(notice.update_id)
    .bind::<Jsonb, _>(notice.refs.clone());
    let query = match ids {
        Some(ids) => query.bind::<Array<BigInt>, _>(ids),
        None => query,
    };
    let row: Written = query.get_result(conn).await?;
    Ok(row.written as usize)
}

/// Writes the notice again for every account notified at stage `earlier_update_id`, in one statement.
pub async fn insert_follow_up_notices(
    conn: &mut AsyncPgConnection,
    earlier_update_id: i64,
    notice: &IncidentNotice<'_>,
) -> QueryResult<usize> {
    let row: Written = diesel::sql_query(format!(
        "WITH ins AS (INSERT INTO notifications \
             (account_id, kind, title, body, incident_id, incident_update_id, refs) \
             SELECT n.account_id, 'security_incident', $1, $2, $3, $4, $5 FROM notifications n \
             WHERE n.incident_update_id = $6 ORDER BY n.account_id \
             RETURNING id, account_id, kind), {FAN_OUT_CTE} \
         SELECT count(*) AS written FROM ins"
    ))
    .bind::<Text, _>(notice.title)
    .bind::<Text, _>(notice.body)
    .bind::<BigInt, _>(notice.incident_id)
    .bind::<BigInt, _>(notice.update_id)
    .bind::<Jsonb, _>(&notice.refs)
    .bind::<BigInt, _>(earlier_update_id)
    .get_result(conn)
    .await?;
    Ok(row.written as usize)
}

/// Sets how many accounts an incident affects.
pub async fn set_affected_count(
    conn: &mut AsyncPgConnection,
    id: i64,
    count: i64,
) -> QueryResult<IncidentRow> {
    diesel::update(i::table.find(id))
        .set(i::affected_count.eq(count))
        .returning(IncidentRow::as_returning())
        .get_result(conn)
        .await
}

/// An incident, locked for the rest of the transaction when `lock` is set.
pub async fn incident(
    conn: &mut AsyncPgConnection,
    id: i64,
    lock: bool,
) -> QueryResult<Option<IncidentRow>> {
    let query = i::table.find(id).select(IncidentRow::as_select());
    if lock {
        query.for_update().first(conn).await.optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Incidents by id (any order).
pub async fn incidents_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<IncidentRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    i::table
        .filter(i::id.eq_any(ids))
        .select(IncidentRow::as_select())
        .load(conn)
        .await
}

#[derive(AsChangeset)]
#[diesel(table_name = i)]
struct Changeset<'a> {
    title: Option<&'a str>,
    description: Option<&'a str>,
    severity: Option<Severity>,
    data_categories: Option<Vec<Option<String>>>,
    cause: Option<&'a str>,
    possible_harm: Option<&'a str>,
    remedial_measures: Option<&'a str>,
    user_actions: Option<&'a str>,
    contact: Option<&'a str>,
    status: &'a str,
    updated_at: DateTime<Utc>,
}

/// Applies changes to an incident's content and sets its status.
pub async fn update_incident(
    conn: &mut AsyncPgConnection,
    id: i64,
    changes: &IncidentChanges,
    status: &str,
) -> QueryResult<IncidentRow> {
    let changeset = Changeset {
        title: changes.title.as_deref(),
        description: changes.description.as_deref(),
        severity: changes.severity,
        data_categories: changes.data_categories.as_deref().map(array),
        cause: changes.cause.as_deref(),
        possible_harm: changes.possible_harm.as_deref(),
        remedial_measures: changes.remedial_measures.as_deref(),
        user_actions: changes.user_actions.as_deref(),
        contact: changes.contact.as_deref(),
        status,
        updated_at: Utc::now(),
    };
    diesel::update(i::table.find(id))
        .set(changeset)
        .returning(IncidentRow::as_returning())
        .get_result(conn)
        .await
}

/// Marks an incident resolved with a note.
pub async fn resolve_incident(
    conn: &mut AsyncPgConnection,
    id: i64,
    note: &str,
) -> QueryResult<IncidentRow> {
    diesel::update(i::table.find(id))
        .set((
            i::status.eq("resolved"),
            i::resolution_note.eq(note),
            i::resolved_at.eq(diesel::dsl::now),
            i::updated_at.eq(diesel::dsl::now),
        ))
        .returning(IncidentRow::as_returning())
        .get_result(conn)
        .await
}

/// The history entry of an incident's declaration.
pub async fn declaration_of(conn: &mut AsyncPgConnection, incident_id: i64) -> QueryResult<i64> {
    iu::table
        .filter(iu::incident_id.eq(incident_id))
        .filter(iu::event.eq("declared"))
        .select(iu::id)
        .first(conn)
        .await
}

/// A page of incidents, newest first, older than `before` when given; only announced ones when `announced_only`.
pub async fn incidents_page(
    conn: &mut AsyncPgConnection,
    before: Option<i64>,
    announced_only: bool,
    limit: i64,
) -> QueryResult<Vec<IncidentRow>> {
    let mut query = i::table
        .select(IncidentRow::as_select())
        .order(i::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(i::id.lt(before));
    }
    if announced_only {
        query = query.filter(i::announced.eq(true));
    }
    query.load(conn).await
}

/// Delivery figures per stage of an incident, oldest stage first.
pub async fn stage_figures(
    conn: &mut AsyncPgConnection,
    incident_id: i64,
) -> QueryResult<Vec<StageFigures>> {
    diesel::sql_query(
        "SELECT u.id AS update_id, u.event, u.note, u.changes, u.created_at AS at, \
                count(n.id) AS notified, count(n.delivered_at) AS delivered, \
                count(n.acknowledged_at) AS acknowledged, \
                min(n.delivered_at) AS first_delivered_at, max(n.delivered_at) AS last_delivered_at \
         FROM incident_updates u LEFT JOIN notifications n ON n.incident_update_id = u.id \
         WHERE u.incident_id = $1 GROUP BY u.id ORDER BY u.id",
    )
    .bind::<BigInt, _>(incident_id)
    .load(conn)
    .await
}
