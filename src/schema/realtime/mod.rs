//! The realtime domain's part of the schema: subscriptions, notifications, incidents and announcements.

mod devices;
mod enums;
mod incident;
mod incidents;
mod types;

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, Subscription};
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

pub use self::devices::{
    ApnsEnvironment, PushDevice, PushDeviceKind, PushMutation, PushQuery, RegisterPushDeviceInput,
    devices_of,
};
pub use self::enums::{IncidentEvent, IncidentStatus, NotificationKind, Severity};
pub use self::incident::{Incident, SecurityAnnouncement};
pub use self::incidents::{
    DeclareIncidentInput, IncidentReportObject, IncidentScopeInput, UpdateIncidentInput,
};
pub use self::types::{Notification, NotificationConnection, notification_connection};
use crate::broker::{Broker, BrokerEvent};
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::{Role, RoleGuard, Viewer};
use crate::graphql::{ids, pool};
use crate::privacy::service as privacy;
use crate::realtime::feed::Feed;
use crate::realtime::model::IncidentRow;
use crate::realtime::service;
use crate::schema::privacy::PrivacyPolicy;

#[derive(Default)]
pub struct RealtimeSubscription;

/// Live updates pushed over WebSocket (`/graphql/ws`).
#[Subscription]
impl RealtimeSubscription {
    /// The privacy policy in force now, then each newly published version as it is published, so clients
    /// can ask for renewed consent without polling.
    async fn privacy_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<PrivacyPolicy>>> {
        let pool = pool(ctx).clone();
        let mut events = ctx.data_unchecked::<Broker>().subscribe();
        let first = privacy::current_policy(&pool).await?;
        Ok(async_stream::try_stream! {
            let mut last = first.as_ref().map(|p| p.version.id);
            if let Some(policy) = first {
                yield PrivacyPolicy(policy);
            }
            loop {
                match events.recv().await {
                    Ok(BrokerEvent::Notify { topic, .. }) if topic != "policy" => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
                let current = privacy::current_policy(&pool).await?;
                if let Some(policy) = current
                    && Some(policy.version.id) != last
                {
                    last = Some(policy.version.id);
                    yield PrivacyPolicy(policy);
                }
            }
        })
    }

    /// Notices to the signed-in account: first every notice after the cursor `after` (a notification's
    /// `cursor`), then each new one as it is written, in order, each exactly once, across reconnects and
    /// restarts. Without `after`, it starts at the oldest notice never delivered to a socket. When the access
    /// token expires the socket closes with 4403: sign in again and resume from the last cursor received.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Notification>> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let after = after
            .map(|c| service::parse_cursor(&c, "after"))
            .transpose()?;
        let feed = ctx.data_unchecked::<Feed>();
        Ok(feed.notices(account_id, after).map(Notification))
    }
}

/// Pagination arguments: `first` (default 20, at most 100) and the id an `after` cursor points at.
fn incident_page_args(
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<(usize, Option<i64>)> {
    let first = crate::graphql::page_size(first)? as usize;
    let after = match after {
        None => None,
        Some(cursor) => match ids::decode(&cursor) {
            Some((kind, key)) if kind == "IncidentCursor" => Some(
                key.parse()
                    .map_err(|_| AppError::bad_input("after", "not an incident cursor"))?,
            ),
            _ => return Err(AppError::bad_input("after", "not an incident cursor")),
        },
    };
    Ok((first, after))
}

fn incident_connection<T: async_graphql::OutputType>(
    rows: Vec<IncidentRow>,
    has_previous: bool,
    has_next: bool,
    wrap: impl Fn(Arc<IncidentRow>) -> T,
) -> Connection<String, T, EmptyFields, EmptyFields> {
    let mut connection = Connection::new(has_previous, has_next);
    connection.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(ids::encode("IncidentCursor", row.id).0, wrap(Arc::new(row)))),
    );
    connection
}

fn staff_id(ctx: &Context<'_>) -> AppResult<i64> {
    Ok(Viewer::from_ctx(ctx).require()?.account_id)
}

fn incident_id(id: &ID) -> AppResult<i64> {
    ids::decode_i64(id, "Incident", "id")
}

#[derive(Default)]
pub struct RealtimeQuery;

/// Security announcements, and incidents for staff.
#[Object]
impl RealtimeQuery {
    /// Security incidents published as announcements, newest first (readable by everyone).
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn security_announcements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SecurityAnnouncement, EmptyFields, EmptyFields>>
    {
        let (first, after) = incident_page_args(first, after)?;
        let (rows, more) = service::incidents_page(pool(ctx), first, after, true).await?;
        Ok(incident_connection(
            rows,
            after.is_some(),
            more,
            SecurityAnnouncement::of,
        ))
    }

    /// Every security incident, newest first (staff only).
    #[graphql(
        guard = "RoleGuard { min: Role::Staff }",
        complexity = "crate::graphql::page_cost(first, child_complexity)"
    )]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Incident, EmptyFields, EmptyFields>> {
        let (first, after) = incident_page_args(first, after)?;
        let (rows, more) = service::incidents_page(pool(ctx), first, after, false).await?;
        Ok(incident_connection(
            rows,
            after.is_some(),
            more,
            Incident::of,
        ))
    }

    /// The report on an incident for the supervisory authority: accounts affected, notified, delivered and
    /// acknowledged, and the time to the first and last delivery (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn incident_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<IncidentReportObject> {
        let report = service::incident_report(pool(ctx), incident_id(&id)?).await?;
        Ok(IncidentReportObject(report))
    }
}

#[derive(Default)]
pub struct RealtimeMutation;

/// Acknowledging notifications, and declaring, updating and resolving incidents (staff).
#[Object]
impl RealtimeMutation {
    /// Marks one of the signed-in account's notifications as acknowledged (the first time is kept).
    async fn acknowledge_notification(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Notification> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let id = ids::decode_i64(&id, "Notification", "id")?;
        Ok(Notification(
            service::acknowledge(pool(ctx), account_id, id).await?,
        ))
    }

    /// Declares a security incident: every affected account gets a notice at once (live on open subscriptions,
    /// replayed to the others when they connect), and the incident is announced publicly unless
    /// `announce: false` (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn declare_incident(
        &self,
        ctx: &Context<'_>,
        input: DeclareIncidentInput,
    ) -> async_graphql::Result<Incident> {
        let staff = staff_id(ctx)?;
        let row = service::declare_incident(pool(ctx), staff, input.into_declaration()?).await?;
        Ok(Incident::of(Arc::new(row)))
    }

    /// Changes an open incident and tells every affected account what changed (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn update_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateIncidentInput,
    ) -> async_graphql::Result<Incident> {
        let staff = staff_id(ctx)?;
        let (changes, note) = input.into_changes();
        let row =
            service::update_incident(pool(ctx), staff, incident_id(&id)?, changes, &note).await?;
        Ok(Incident::of(Arc::new(row)))
    }

    /// Resolves an incident and tells every affected account how it ended (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn resolve_incident(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: String,
    ) -> async_graphql::Result<Incident> {
        let staff = staff_id(ctx)?;
        let row = service::resolve_incident(pool(ctx), staff, incident_id(&id)?, &note).await?;
        Ok(Incident::of(Arc::new(row)))
    }
}

/// Resolves a `Notification` global id (only for its owner).
pub async fn notification_node(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<Notification>> {
    let Some(signed_in) = &Viewer::from_ctx(ctx).account else {
        return Ok(None);
    };
    Ok(service::notification(pool(ctx), signed_in.account_id, id)
        .await?
        .map(Notification))
}

/// Resolves an `Incident` global id (for staff, and for the accounts it was sent to).
pub async fn incident_node(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Incident>> {
    let viewer = Viewer::from_ctx(ctx)
        .account
        .as_ref()
        .map(|s| (s.account_id, s.role >= Role::Staff));
    Ok(service::incident_for(pool(ctx), viewer, id)
        .await?
        .map(|row| Incident::of(Arc::new(row))))
}

/// Resolves a `SecurityAnnouncement` global id (for everyone).
pub async fn announcement_node(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<SecurityAnnouncement>> {
    Ok(service::announcement(pool(ctx), id)
        .await?
        .map(|row| SecurityAnnouncement::of(Arc::new(row))))
}
