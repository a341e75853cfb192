//! Security incidents (privacy policy 5.4): declaring one writes a notice for every affected account in one
//! set-based statement, inside the transaction that writes the incident, and announces it with a single
//! `incident:<id>` event however many accounts it reaches; updating and resolving notify the same accounts again.

use std::sync::Arc;

use chrono::Utc;
use diesel_async::AsyncConnection;
use serde_json::json;

use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::realtime::feed::INCIDENT_TOPIC;
use crate::realtime::model::{
    ChannelFigures, IncidentChanges, IncidentContent, IncidentReport, IncidentRow, Severity,
};
use crate::realtime::store::{self, IncidentNotice};

use super::checks::{MAX_TEXT, check_changes, check_content, text};

/// Who an incident reaches, written by the domain that owns the accounts (`crate::accounts::Audience`), so this
/// floor embeds the selection in its one set-based statement without knowing the accounts' tables.
pub trait Recipients {
    /// A query selecting the ids of the accounts reached (one column, `id`). When it reads listed ids from a
    /// `bigint[]` bind, that bind is number `ids_param` and the ids to bind come back with the query.
    fn query(&self, ids_param: usize) -> AppResult<(String, Option<Vec<i64>>)>;
    /// The scope as the incident records it (`{"all": true}`, `{"accountIds": [...]}`, ...).
    fn scope(&self) -> serde_json::Value;
    /// How many distinct accounts the scope lists by id, when it lists them.
    fn listed(&self) -> Option<usize>;
}

/// What staff declare.
#[derive(Debug, Clone)]
pub struct Declaration<A> {
    pub content: IncidentContent,
    pub audience: A,
    /// Whether the incident is published as a public security announcement.
    pub announced: bool,
}

/// The body every recipient of an incident notice reads: what happened and what it means for them.
pub fn incident_body(i: &IncidentRow) -> String {
    format!(
        "{}\n\nWhat happened: {}\nData involved: {}\nPossible consequences: {}\nWhat we have done: {}\n\
         What you can do: {}\nContact: {}",
        i.description,
        i.cause,
        i.categories().join(", "),
        i.possible_harm,
        i.remedial_measures,
        i.user_actions,
        i.contact
    )
}

/// Declares an incident: the incident, its history entry and a notice for every affected account, in one
/// transaction, announced by one `incident:<id>` event. An audience with nobody in it is refused.
pub async fn declare_incident(
    pool: &Pool,
    staff_id: i64,
    declaration: Declaration<impl Recipients>,
) -> AppResult<IncidentRow> {
    check_content(&declaration.content)?;
    let listed = declaration.audience.listed();
    if listed == Some(0) {
        return Err(AppError::bad_input("scope", "no affected accounts"));
    }
    let (audience, ids) = declaration.audience.query(6)?;
    let scope = declaration.audience.scope();
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let incident = store::insert_incident(
            conn,
            &declaration.content,
            &scope,
            declaration.announced,
            staff_id,
        )
        .await?;
        let update_id =
            store::insert_update(conn, incident.id, "declared", "", json!({}), staff_id).await?;
        let title = format!("Security incident: {}", incident.title);
        let body = incident_body(&incident);
        let notice = IncidentNotice {
            incident_id: incident.id,
            update_id,
            title: &title,
            body: &body,
            refs: json!({ "incident": incident.id, "event": "declared" }),
        };
        let written = store::insert_audience_notices(conn, &audience, ids, &notice).await?;
        if written == 0 {
            return Err(AppError::bad_input("scope", "no affected accounts"));
        }
        if let Some(listed) = listed
            && written < listed
        {
            return Err(AppError::bad_input(
                "scope.accountIds",
                format!("{} of the listed accounts do not exist", listed - written),
            ));
        }
        let incident = store::set_affected_count(conn, incident.id, written as i64).await?;
        dispatch_if_serious(conn, &incident, update_id).await?;
        store::notify(conn, INCIDENT_TOPIC, incident.id).await?;
        Ok(incident)
    })
    .await
}

/// Changes an open incident and tells every affected account what changed.
pub async fn update_incident(
    pool: &Pool,
    staff_id: i64,
    id: i64,
    changes: IncidentChanges,
    note: &str,
) -> AppResult<IncidentRow> {
    text("note", note, MAX_TEXT)?;
    let changed = check_changes(&changes)?;
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = store::incident(conn, id, true)
            .await?
            .ok_or_else(|| AppError::NotFound("incident".into()))?;
        if current.status == crate::realtime::model::IncidentStatus::Resolved {
            return Err(AppError::bad_input(
                "id",
                "the incident is already resolved",
            ));
        }
        let incident = store::update_incident(conn, id, &changes, "updated").await?;
        let changes = json!({ "fields": changed });
        let update_id = store::insert_update(conn, id, "updated", note, changes, staff_id).await?;
        let title = format!("Update on security incident: {}", incident.title);
        let body = format!("{note}\n\n{}", incident_body(&incident));
        notify_again(conn, &incident, update_id, "updated", &title, &body).await?;
        Ok(incident)
    })
    .await
}

/// Resolves an incident with a note to every affected account.
pub async fn resolve_incident(
    pool: &Pool,
    staff_id: i64,
    id: i64,
    note: &str,
) -> AppResult<IncidentRow> {
    text("note", note, MAX_TEXT)?;
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = store::incident(conn, id, true)
            .await?
            .ok_or_else(|| AppError::NotFound("incident".into()))?;
        if current.status == crate::realtime::model::IncidentStatus::Resolved {
            return Err(AppError::bad_input(
                "id",
                "the incident is already resolved",
            ));
        }
        let incident = store::resolve_incident(conn, id, note).await?;
        let update_id =
            store::insert_update(conn, id, "resolved", note, json!({}), staff_id).await?;
        let title = format!("Security incident resolved: {}", incident.title);
        notify_again(conn, &incident, update_id, "resolved", &title, note).await?;
        Ok(incident)
    })
    .await
}

/// Writes a follow-up notice to every account notified at declaration, announced by one event.
async fn notify_again(
    conn: &mut diesel_async::AsyncPgConnection,
    incident: &IncidentRow,
    update_id: i64,
    event: &str,
    title: &str,
    body: &str,
) -> AppResult<()> {
    let declared = store::declaration_of(conn, incident.id).await?;
    let notice = IncidentNotice {
        incident_id: incident.id,
        update_id,
        title,
        body,
        refs: json!({ "incident": incident.id, "event": event }),
    };
    store::insert_follow_up_notices(conn, declared, &notice).await?;
    dispatch_if_serious(conn, incident, update_id).await?;
    store::notify(conn, INCIDENT_TOPIC, incident.id).await?;
    Ok(())
}

/// High and critical incidents also go to every affected account by SMS and email: the stage is queued for the
/// dispatcher (`accounts::incident_messages`), which the `incident:<id>` event of the same commit wakes.
async fn dispatch_if_serious(
    conn: &mut diesel_async::AsyncPgConnection,
    incident: &IncidentRow,
    update_id: i64,
) -> AppResult<()> {
    if matches!(incident.severity, Severity::High | Severity::Critical) {
        store::insert_dispatch(conn, update_id).await?;
    }
    Ok(())
}

/// An incident as `viewer_account` may see it: staff see every incident, members the ones they were notified
/// of; `None` otherwise.
pub async fn incident_for(
    pool: &Pool,
    viewer_account: Option<(i64, bool)>,
    id: i64,
) -> AppResult<Option<IncidentRow>> {
    let Some((account_id, staff)) = viewer_account else {
        return Ok(None);
    };
    let mut conn = pool.get().await?;
    if !staff && !store::was_notified_of(&mut conn, account_id, id).await? {
        return Ok(None);
    }
    Ok(store::incident(&mut conn, id, false).await?)
}

/// An incident published as a security announcement (visible to everyone).
pub async fn announcement(pool: &Pool, id: i64) -> AppResult<Option<IncidentRow>> {
    let mut conn = pool.get().await?;
    Ok(store::incident(&mut conn, id, false)
        .await?
        .filter(|i| i.announced))
}

/// A page of incidents, newest first: up to `first` older than `before`, and whether more follow. Only
/// announced ones when `announced_only`.
pub async fn incidents_page(
    pool: &Pool,
    first: usize,
    before: Option<i64>,
    announced_only: bool,
) -> AppResult<(Vec<IncidentRow>, bool)> {
    let mut conn = pool.get().await?;
    let mut rows =
        store::incidents_page(&mut conn, before, announced_only, first as i64 + 1).await?;
    let more = rows.len() > first;
    rows.truncate(first);
    Ok((rows, more))
}

/// The channels the report counts, in its order.
pub const CHANNELS: [&str; 4] = ["socket", "push", "sms", "email"];

/// The regulator's report on an incident (`NOT_FOUND` when there is none).
pub async fn incident_report(pool: &Pool, id: i64) -> AppResult<IncidentReport> {
    let mut conn = pool.get().await?;
    let incident = store::incident(&mut conn, id, false)
        .await?
        .ok_or_else(|| AppError::NotFound("incident".into()))?;
    let stages = store::stage_figures(&mut conn, id).await?;
    let found = store::channel_figures(&mut conn, id).await?;
    let channels = CHANNELS
        .iter()
        .map(|name| {
            found
                .iter()
                .find(|c| c.channel == *name)
                .cloned()
                .unwrap_or(ChannelFigures {
                    channel: name.to_string(),
                    notified: 0,
                    delivered: 0,
                    acknowledged: 0,
                })
        })
        .collect();
    Ok(IncidentReport {
        incident: Arc::new(incident),
        generated_at: Utc::now(),
        stages,
        channels,
    })
}
