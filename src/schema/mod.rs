//! The graph: every GraphQL type and resolver, one room per domain, and the one schema assembled from them,
//! with its limits.
//!
//! The graph is one floor above every domain. Its types name each other because the graph does (a `User` has
//! works and a `Work` has an author; `Me` shows consents, exports and cancellations), so no order of the
//! domains could hold their GraphQL parts without one edge pointing up. The domains below hold the rules,
//! queries and loaders, and point one way (see `tests/it/architecture.rs`).

pub mod accounts;
pub mod content;
pub mod media;
pub mod privacy;
pub mod realtime;
pub mod rights;

use async_graphql::{Context, ID, Interface, MergedObject, MergedSubscription, Object, Schema};

use crate::accounts::Accounts;
use crate::broker::Broker;
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::db::Pool;
use crate::graphql::ids;
use crate::schema::accounts::{AccountsMutation, AccountsQuery, ThirdPartyMutation, User};
use crate::schema::content::events::EventsMutation;
use crate::schema::content::search::SearchQuery;
use crate::schema::content::{ArticleNode, ContentMutation, ContentQuery, WorkNode};
use crate::schema::privacy::{ConsentMutation, PolicyMutation, PrivacyPolicy, PrivacyQuery};
use crate::schema::realtime::{
    Incident, Notification, RealtimeMutation, RealtimeQuery, RealtimeSubscription,
    SecurityAnnouncement,
};

/// Every type with a global id.
// A `Node` lives for one field resolution; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global, opaque identifier; `node(id:)` resolves it."
))]
pub enum Node {
    PrivacyPolicy(PrivacyPolicy),
    Partner(crate::schema::privacy::Partner),
    DataExport(crate::schema::rights::DataExport),
    User(User),
    Work(WorkNode),
    Article(ArticleNode),
    Notification(Notification),
    Incident(Incident),
    SecurityAnnouncement(SecurityAnnouncement),
    AccountCancellation(crate::schema::rights::AccountCancellation),
}

#[derive(Default)]
pub struct NodeQuery;

/// Global-id lookup.
#[Object]
impl NodeQuery {
    /// Any object by its global id; null when nothing has that id (or the viewer may not see it).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let Some((kind, key)) = ids::decode(&id) else {
            return Err(crate::error::AppError::bad_input("id", "not a valid global id").into());
        };
        Ok(match kind.as_str() {
            "PrivacyPolicy" => crate::schema::privacy::node(ctx, &key)
                .await?
                .map(Node::PrivacyPolicy),
            "Partner" => match key.parse() {
                Ok(id) => crate::schema::privacy::partner_node(ctx, id)
                    .await?
                    .map(Node::Partner),
                Err(_) => None,
            },
            "DataExport" => match key.parse() {
                Ok(id) => crate::schema::rights::export_node(ctx, id)
                    .await?
                    .map(Node::DataExport),
                Err(_) => None,
            },
            "User" => match key.parse() {
                Ok(id) => crate::schema::accounts::user_node(ctx, id)
                    .await?
                    .map(Node::User),
                Err(_) => None,
            },
            "Work" => match key.parse() {
                Ok(id) => crate::schema::content::work_by_id(ctx, id)
                    .await?
                    .map(Node::Work),
                Err(_) => None,
            },
            "Article" => match key.parse() {
                Ok(id) => crate::schema::content::article_by_id(ctx, id)
                    .await?
                    .map(Node::Article),
                Err(_) => None,
            },
            "Notification" => match key.parse() {
                Ok(id) => crate::schema::realtime::notification_node(ctx, id)
                    .await?
                    .map(Node::Notification),
                Err(_) => None,
            },
            "Incident" => match key.parse() {
                Ok(id) => crate::schema::realtime::incident_node(ctx, id)
                    .await?
                    .map(Node::Incident),
                Err(_) => None,
            },
            "SecurityAnnouncement" => match key.parse() {
                Ok(id) => crate::schema::realtime::announcement_node(ctx, id)
                    .await?
                    .map(Node::SecurityAnnouncement),
                Err(_) => None,
            },
            "AccountCancellation" => match key.parse() {
                Ok(id) => crate::schema::rights::cancellation::node(ctx, id)
                    .await?
                    .map(Node::AccountCancellation),
                Err(_) => None,
            },
            _ => None,
        })
    }
}

/// The root query type: everything a visitor, member, staff member or partner can read.
#[derive(MergedObject, Default)]
pub struct Query(
    AccountsQuery,
    ContentQuery,
    SearchQuery,
    PrivacyQuery,
    crate::schema::privacy::PartnersQuery,
    crate::schema::privacy::StatisticsQuery,
    RealtimeQuery,
    crate::schema::realtime::PushQuery,
    NodeQuery,
);

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AccountsMutation,
    ThirdPartyMutation,
    crate::schema::accounts::SuspensionMutation,
    ContentMutation,
    EventsMutation,
    RealtimeMutation,
    crate::schema::realtime::PushMutation,
    crate::schema::media::MediaMutation,
    PolicyMutation,
    ConsentMutation,
    crate::schema::privacy::PartnersMutation,
    crate::schema::rights::DataRightsMutation,
    crate::schema::rights::StaffAccessMutation,
    crate::schema::rights::CancellationMutation,
);

/// The root subscription type: live updates over WebSocket.
#[derive(MergedSubscription, Default)]
pub struct Subscription(RealtimeSubscription);

pub type PorticoSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schema a running gateway serves, with its data and the configured limits.
pub fn build(
    config: &Config,
    pool: Pool,
    broker: Broker,
    keys: DataKeys,
    accounts: Accounts,
    push: std::sync::Arc<crate::push::Services>,
    media: crate::media::Media,
) -> PorticoSchema {
    let limits = &config.limits;
    let mut b = builder()
        .data(crate::realtime::feed::Feed::start(
            pool.clone(),
            broker.clone(),
        ))
        .data(crate::privacy::current::CurrentPolicy::start(&broker))
        .data(pool)
        .data(broker)
        .data(keys)
        .data(accounts)
        .data(push)
        .data(media)
        .data(std::sync::Arc::new(config.clone()))
        // Application depth is limited by `PORTICO_MAX_DEPTH` in `graphql::analysis`, which leaves introspection
        // out (GraphiQL's own query nests 14 levels); this is only the backstop the query text's nesting bound
        // already guarantees.
        .limit_depth(crate::config::MAX_NESTING)
        .limit_recursive_depth(crate::config::MAX_NESTING)
        // Directives are counted per document in `graphql::analysis` (at most `PORTICO_MAX_DIRECTIVES` in all).
        .extension(ComplexityLimit(limits.max_complexity));
    if !config.introspection {
        b = b.disable_introspection();
    }
    if config.is_production() {
        b = b.disable_suggestions();
    }
    b.finish()
}

/// Refuses an operation whose complexity (a field costs 1 plus its selection; lists per item, see
/// `graphql::page_cost`) passes the limit, once async-graphql has computed it during validation. Done here
/// rather than with `limit_complexity` so the refusal is a typed [`AppError::QueryTooComplex`], not a message
/// to recognise.
struct ComplexityLimit(usize);

impl async_graphql::extensions::ExtensionFactory for ComplexityLimit {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(ComplexityCheck(self.0))
    }
}

struct ComplexityCheck(usize);

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for ComplexityCheck {
    async fn validation(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextValidation<'_>,
    ) -> Result<async_graphql::ValidationResult, Vec<async_graphql::ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > self.0 {
            let refusal = crate::error::AppError::QueryTooComplex(format!(
                "the query is too complex: it costs {}, and at most {} is allowed",
                result.complexity, self.0
            ));
            return Err(vec![
                async_graphql::Error::from(refusal).into_server_error(Default::default()),
            ]);
        }
        Ok(result)
    }
}

/// The SDL of the schema (what `portico schema` prints and `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Adds what every request carries besides its viewer: fresh dataloaders (per request, so nothing one
/// viewer may see is cached for another), spawned inside the request's scope so their SQL is counted.
pub fn with_loaders(
    request: async_graphql::Request,
    pool: &Pool,
    viewer: &crate::graphql::viewer::Viewer,
) -> async_graphql::Request {
    use crate::telemetry::spawn_in_scope;
    use async_graphql::dataloader::{DataLoader, HashMapCache};
    let cached = HashMapCache::default;
    let users = crate::accounts::loaders::UserLoader { pool: pool.clone() };
    let contacts = crate::accounts::loaders::ContactLoader { pool: pool.clone() };
    let works = crate::content::loaders::WorkLoader { pool: pool.clone() };
    let articles = crate::content::loaders::ArticleLoader { pool: pool.clone() };
    let mut request = request
        .data(DataLoader::with_cache(users, spawn_in_scope, cached()))
        .data(DataLoader::with_cache(contacts, spawn_in_scope, cached()))
        .data(DataLoader::with_cache(works, spawn_in_scope, cached()))
        .data(DataLoader::with_cache(articles, spawn_in_scope, cached()));
    if let Some(signed_in) = &viewer.account {
        let collected = crate::content::loaders::CollectedLoader {
            pool: pool.clone(),
            account_id: signed_in.account_id,
        };
        request = request.data(DataLoader::with_cache(collected, spawn_in_scope, cached()));
    }
    request
}
